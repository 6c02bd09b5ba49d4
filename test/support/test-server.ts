import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { dynaliteBackend, dynamoDbLocalBackend, type Backend, type BackendFactory } from './backends.js';

/**
 * A local server on a fresh data directory over one backend lane, for integration tests.
 * `restart` stops server and emulators and starts them again on the same data.
 */
export interface TestServer {
  url: string;
  server: LocalServer;
  backend: Backend;
  dir: string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface Lane {
  name: string;
  factory: BackendFactory;
  /** Why this lane cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
}

export const LANES: Lane[] = [
  { name: 'dynalite+s3rver', factory: dynaliteBackend, unavailable: () => undefined },
  {
    name: 'dynamodb-local+s3rver',
    factory: dynamoDbLocalBackend,
    // DynamoDB Local binds every interface; we run it only inside scripts/test.mjs's loopback-only namespace.
    unavailable: () =>
      process.env.BLOBSERVER_TEST_NETNS === '1' || process.env.BLOBSERVER_TEST_DDB_LOCAL === '1'
        ? undefined
        : 'DynamoDB Local listens on all interfaces; run through `npm test` (isolated network namespace) or set BLOBSERVER_TEST_DDB_LOCAL=1',
  },
];

export const USER = 'alice';
export const PASSWORD = 'correct horse battery staple';

export function basicAuth(user = USER, password = PASSWORD): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/**
 * Starts a server with credentials USER/PASSWORD (unless `env` overrides BLOBSERVER_AUTH;
 * pass BLOBSERVER_AUTH: '' for an open server).
 */
export async function startTestServer(factory: BackendFactory, env: Record<string, string> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'blobserver-test-'));
  const serverEnv = (backend: Backend) => ({
    BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    ...backend.env,
    ...env,
    BLOBSERVER_DATA_DIR: dir,
    PORT: '0',
  });
  let backend = await factory(dir);
  let server = await startLocalServer(serverEnv(backend));
  const ts: TestServer = {
    url: server.url,
    server,
    backend,
    dir,
    restart: async () => {
      await server.close();
      await backend.close();
      backend = await factory(dir);
      server = await startLocalServer(serverEnv(backend));
      Object.assign(ts, { url: server.url, server, backend });
    },
    close: async () => {
      await server.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ts;
}

export interface Part {
  /** Form field name (the blobref); undefined leaves the name parameter out. */
  name?: string;
  data: Buffer | string;
  /** Part Content-Type; null leaves the header out. Default application/octet-stream. */
  contentType?: string | null;
  /** Content-Disposition filename; null leaves it out. Default: the name. */
  filename?: string | null;
}

/** A multipart/form-data body built byte by byte, so tests control every header. */
export function multipartBody(parts: Part[], boundary = 'testboundary' + Math.random().toString(16).slice(2)): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = ['form-data'];
    if (p.name !== undefined) disposition.push(`name="${p.name}"`);
    const filename = p.filename === undefined ? p.name : p.filename;
    if (filename !== null && filename !== undefined) disposition.push(`filename="${filename}"`);
    let head = `--${boundary}\r\nContent-Disposition: ${disposition.join('; ')}\r\n`;
    const type = p.contentType === undefined ? 'application/octet-stream' : p.contentType;
    if (type !== null) head += `Content-Type: ${type}\r\n`;
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
