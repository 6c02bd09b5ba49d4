import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { S3RVER_CREDENTIALS } from '../local/emulators.js';
import { startS3Front } from '../local/s3-front.js';
import { presignEndpoint } from '../local/server.js';
import { dynaliteBackend } from '../test/support/backends.js';

/**
 * "AWS" in a child process, for splitting the local server's CPU as Lambda bills it: dynalite,
 * s3rver and the S3 front (what S3 itself is in the cloud: presigned GETs, form POSTs) run here,
 * and the local server in the parent reaches them through its endpoint settings, so the
 * parent's CPU is the handlers, the SDK and HTTP only. The child answers its own CPU time.
 */

/** What the child sends once it listens. */
interface Ready {
  env: Record<string, string>;
}

export interface AwsChild {
  /** Points startLocalServer at the child's emulators and S3 front. */
  env: Record<string, string>;
  /** The child's CPU time (user + system) so far, ms. */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

export async function startAwsChild(dir: string): Promise<AwsChild> {
  // Under tsx the parent's execArgv carries its loader, so the child runs this .ts file too.
  const child = fork(fileURLToPath(import.meta.url), [dir], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>() =>
    new Promise<T>((ok, fail) => {
      const onExit = (code: number | null) => fail(new Error(`the emulators' process exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        ok(m as T);
      });
    });
  const { env } = await next<Ready>();
  return {
    env,
    cpuMs: async () => {
      const answer = next<{ cpuMs: number }>();
      child.send('cpu');
      return (await answer).cpuMs;
    },
    close: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.send('close');
      }),
  };
}

async function runChild(dir: string): Promise<void> {
  const aws = await dynaliteBackend(dir);
  const front = await startS3Front(aws.env.AWS_ENDPOINT_URL_S3, '127.0.0.1', { verify: S3RVER_CREDENTIALS });
  // Named as the local server names its own front: by the other loopback name (see presignEndpoint).
  const ready: Ready = { env: { ...aws.env, BLOBSERVER_S3_PUBLIC_ENDPOINT: presignEndpoint(front.endpoint, '127.0.0.1')! } };
  process.send!(ready);
  // Never outlives the bench.
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m) => {
    if (m === 'cpu') {
      const c = process.cpuUsage();
      process.send!({ cpuMs: (c.user + c.system) / 1000 });
    } else if (m === 'close') {
      await Promise.all([front.close(), aws.close()]);
      process.exit(0);
    }
  });
}

const [, script, dir] = process.argv;
if (process.send && script && dir && fileURLToPath(import.meta.url) === script) await runChild(dir);
