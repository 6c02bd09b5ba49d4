import { mkdir, mkdtemp, readdir, rm, stat, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import type { Config } from '../lambda/core/config.js';
import type { AllowOrigin } from './cors.js';
import { startEmulatorThread } from './emulator-thread.js';
import { startS3Front } from './s3-front.js';

/**
 * The embedded AWS stand-ins: dynalite (DynamoDB on LevelDB) and s3rver (S3 on the file
 * system), in-process, on loopback, with their data under the data directory so blobs
 * survive a restart.
 */
export interface Emulator {
  endpoint: string;
  close(): Promise<void>;
}

/** Listens on an ephemeral port of `host`; its close also drops kept-alive connections, so it never waits on a client. */
export async function serveOn(server: Server, host: string): Promise<Emulator> {
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** s3rver checks SigV4 signatures against this fixed key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startDynalite(dir: string, host = '127.0.0.1'): Promise<Emulator> {
  await mkdir(dir, { recursive: true });
  const server = dynalite({ path: dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  return serveOn(server, host);
}

/**
 * s3rver writes an object's metadata file after its bytes, truncating it first: a crash
 * (kill -9) in between leaves it empty, and s3rver then fails every read and listing that
 * touches the object with 500. Without the file it serves the object with default metadata,
 * which is all we use (the bytes are checked against their blobref on every read anyway).
 */
async function dropEmptyS3rverMetadata(dir: string): Promise<void> {
  const files = await readdir(dir, { recursive: true });
  for (const file of files) {
    if (!file.endsWith('._S3rver_metadata.json')) continue;
    const path = join(dir, file);
    if ((await stat(path)).size === 0) await unlink(path);
  }
}

export async function startS3rver(dir: string, host = '127.0.0.1'): Promise<Emulator> {
  await mkdir(dir, { recursive: true });
  await dropEmptyS3rverMetadata(dir);
  const server = new S3rver({ address: host, port: 0, directory: dir, silent: true });
  const { port } = (await server.run()) as AddressInfo;
  return { endpoint: `http://${host}:${port}`, close: () => server.close() };
}

/**
 * s3rver reachable only through the authenticating S3 front (s3-front.ts): s3rver itself
 * listens on a Unix socket in a fresh directory only this user may enter (mkdtemp: mode 0700),
 * never on a TCP port, since it accepts anonymous requests (any local process, or a web page
 * posting to loopback, could otherwise list, read, overwrite or delete the bucket). The front
 * serves everyone on loopback: the server's own SDK calls (header-signed), presigned URLs and
 * upload forms, CORS for `allowOrigin`.
 */
export async function startFrontedS3rver(dir: string, host = '127.0.0.1', allowOrigin?: AllowOrigin, options: { thread?: boolean } = {}): Promise<Emulator> {
  const socketDir = await mkdtemp(join(tmpdir(), 'blobserver-s3-'));
  const socketPath = join(socketDir, 's3rver.sock');
  let s3rver: { close(): Promise<void> };
  try {
    s3rver = options.thread ? await startEmulatorThread({ kind: 's3rver', dir, socketPath }) : await listenS3rver(dir, socketPath);
  } catch (err) {
    await rm(socketDir, { recursive: true, force: true });
    throw err;
  }
  const closeS3rver = async () => {
    await s3rver.close().catch(() => undefined);
    await rm(socketDir, { recursive: true, force: true });
  };
  try {
    const front = await startS3Front(`unix:${socketPath}`, host, { verify: S3RVER_CREDENTIALS, ...(allowOrigin ? { allowOrigin } : {}) });
    return {
      endpoint: front.endpoint,
      close: async () => {
        await front.close();
        await closeS3rver();
      },
    };
  } catch (err) {
    await closeS3rver();
    throw err;
  }
}

/** s3rver on `dir`, listening on the Unix socket `socketPath` (whose directory the caller made). */
export async function listenS3rver(dir: string, socketPath: string): Promise<{ close(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  await dropEmptyS3rverMetadata(dir);
  const s3rver = new S3rver({ directory: dir, silent: true });
  s3rver.httpServer = await s3rver.listen(socketPath);
  return { close: () => s3rver.close() };
}

/** dynalite on its own worker thread (emulator-thread.ts). */
async function startDynaliteThread(dir: string, host = '127.0.0.1'): Promise<Emulator> {
  const thread = await startEmulatorThread({ kind: 'dynalite', dir, host });
  return { endpoint: thread.address, close: thread.close };
}

/** The emulators `npm start` and `npm run fsck` run on: dynalite, and s3rver behind its front. */
/**
 * dynalite and s3rver each on a worker thread of this process unless `threads` is false
 * (BLOBSERVER_EMULATOR_THREADS=false; the bench compares the two): emulator-thread.ts says why.
 * The S3 front stays on the caller's thread (it needs `allowOrigin`, a function).
 */
export async function startEmbeddedAws(
  dataDir: string,
  options: { allowOrigin?: AllowOrigin; threads?: boolean } = {},
): Promise<{ s3: Emulator; dynamodb: Emulator; close(): Promise<void> }> {
  const thread = options.threads ?? true;
  const [s3, dynamodb] = await Promise.all([
    startFrontedS3rver(join(dataDir, 's3'), '127.0.0.1', options.allowOrigin, { thread }),
    thread ? startDynaliteThread(join(dataDir, 'dynamodb')) : startDynalite(join(dataDir, 'dynamodb')),
  ]);
  return { s3, dynamodb, close: async () => void (await Promise.all([s3.close(), dynamodb.close()])) };
}

export type EmbeddedAws = Awaited<ReturnType<typeof startEmbeddedAws>>;

/** `configured` pointed at the embedded emulators (their endpoints, path-style S3, their credentials). */
export function onEmbeddedAws(configured: Config, emulators: EmbeddedAws): Config {
  return {
    ...configured,
    endpoints: { ...configured.endpoints, s3: emulators.s3.endpoint, dynamodb: emulators.dynamodb.endpoint },
    s3ForcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  };
}
