import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * perkeepd (the PERKEEPD binary) serving Perkeep's `storage-encrypt` over two `storage-remote`
 * targets, our blob roots at `blobsUrl` (encrypted blobs) and `metaUrl` (meta): the reference
 * reader and writer of the encrypt format. It reads all meta at start, so a restart sees what
 * others wrote since.
 */

/** The sentence perkeepd's encrypt storage insists on (pkg/blobserver/encrypt/encrypt.go). */
export const I_AGREE = "that encryption support hasn't been peer-reviewed, isn't finished, and its format might change.";

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address() as { port: number };
  await new Promise((ok) => probe.close(ok));
  return port;
}

export interface EncryptPerkeepd {
  url: string;
  close(): Promise<void>;
}

export async function startEncryptPerkeepd(
  binary: string,
  dir: string,
  options: { blobsUrl: string; metaUrl: string; keyFile: string; userpass: string },
): Promise<EncryptPerkeepd> {
  const port = await freePort();
  await mkdir(join(dir, 'home'), { recursive: true });
  const config = join(dir, `server-config-${port}.json`);
  const remote = (url: string) => ({ handler: 'storage-remote', handlerArgs: { url, auth: options.userpass } });
  await writeFile(
    config,
    JSON.stringify({
      handlerConfig: true,
      listen: `127.0.0.1:${port}`,
      https: false,
      auth: options.userpass,
      prefixes: {
        '/': { handler: 'root', handlerArgs: { blobRoot: '/enc/', stealth: false } },
        '/enc/': {
          handler: 'storage-encrypt',
          handlerArgs: { I_AGREE, keyFile: options.keyFile, blobs: '/rb/', meta: '/rm/', metaIndex: { type: 'memory' } },
        },
        '/rb/': remote(options.blobsUrl),
        '/rm/': remote(options.metaUrl),
      },
    }),
  );
  const child = spawn(binary, ['-openbrowser=false', `-configfile=${config}`], {
    env: { PATH: process.env['PATH'], HOME: join(dir, 'home') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const url = `http://127.0.0.1:${port}`;
  const [, user, ...pass] = options.userpass.split(':');
  const authorization = 'Basic ' + Buffer.from(`${user}:${pass.join(':')}`).toString('base64');
  const close = async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`perkeepd exited (${child.exitCode}): ${log}`);
    const up = await fetch(`${url}/?camli.mode=config`, { headers: { authorization } }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`perkeepd did not answer within 60 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, close };
}
