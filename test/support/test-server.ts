import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { startAwsProxy, type AwsProxy } from './aws-proxy.js';
import { dynaliteBackend, dynamoDbLocalBackend, localStackBackend, localStackEndpoint, type Backend, type BackendFactory } from './backends.js';
import { storageProbe, type StorageProbe } from './storage.js';

/**
 * A local server on a fresh data directory over one backend lane, for integration tests.
 * `restart` stops server and emulators and starts them again on the same data.
 */
export interface TestServer {
  url: string;
  server: LocalServer;
  backend: Backend;
  dir: string;
  /** Direct S3/DynamoDB reads against the emulators themselves (not through any proxy). */
  storage: StorageProbe;
  /** With `{ proxy: true }`: request-recording, fault-injecting proxies the server talks to. */
  proxies?: { s3: AwsProxy; dynamodb: AwsProxy } | undefined;
  /**
   * Another local server with other settings (`env` overrides) on the same storage, with its
   * own signing keys. Closed by `close()`; close it yourself before a `restart()`.
   */
  startSibling(env: Record<string, string>): Promise<LocalServer>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Put an AwsProxy in front of each emulator (they follow the emulators across restarts). */
  proxy?: boolean;
}

/**
 * An emulator lane: what the local server's S3/DynamoDB (and Secrets Manager) are for one run
 * of a suite. Suites take a lane and run once per lane; a test that needs a capability the
 * lane lacks skips itself with the reason (`t.skip(...)`), never passes vacuously.
 */
export interface Lane {
  name: string;
  factory: BackendFactory;
  /** Why this lane cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  /**
   * Whether its S3 enforces what real S3 enforces and s3rver ignores: presigned POST policy
   * conditions (content-length-range, key) and conditional writes (`If-None-Match: *`).
   */
  enforcesPostPolicy: boolean;
}

/** DynamoDB Local binds every interface; it runs only inside scripts/test.mjs's loopback-only namespace. */
const ddbLocalUnavailable = () =>
  process.env['BLOBSERVER_TEST_NETNS'] === '1' || process.env['BLOBSERVER_TEST_DDB_LOCAL'] === '1'
    ? undefined
    : 'DynamoDB Local listens on all interfaces; run through `npm test` (isolated network namespace) or set BLOBSERVER_TEST_DDB_LOCAL=1';

export const LANES: Lane[] = [
  { name: 'dynalite+s3rver', factory: dynaliteBackend, unavailable: () => undefined, enforcesPostPolicy: false },
  { name: 'dynamodb-local+s3rver', factory: dynamoDbLocalBackend, unavailable: ddbLocalUnavailable, enforcesPostPolicy: false },
  {
    // S3 + Secrets Manager from the LocalStack that `npm test` starts once per run.
    name: 'dynamodb-local+localstack',
    factory: localStackBackend,
    unavailable: () => localStackEndpoint().unavailable ?? ddbLocalUnavailable(),
    enforcesPostPolicy: true,
  },
];

/** The lane of this name (a typo fails loudly rather than running nothing). */
export function lane(name: string): Lane {
  const found = LANES.find((l) => l.name === name);
  if (!found) throw new Error(`no lane ${name}; lanes: ${LANES.map((l) => l.name).join(', ')}`);
  return found;
}

export const USER = 'alice';
export const PASSWORD = 'correct horse battery staple';

export function basicAuth(user = USER, password = PASSWORD): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/**
 * Starts a server with credentials USER/PASSWORD (unless `env` overrides BLOBSERVER_AUTH;
 * pass BLOBSERVER_AUTH: '' for an open server).
 */
export async function startTestServer(factory: BackendFactory, env: Record<string, string> = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'blobserver-test-'));
  let backend: Backend | undefined;
  let proxies: TestServer['proxies'];
  let server: LocalServer | undefined;
  const siblings = new Set<LocalServer>();
  /** The emulator endpoints the server uses: the proxies' when proxied. */
  const routedEnv = (b: Backend) =>
    proxies ? { ...b.env, AWS_ENDPOINT_URL_S3: proxies.s3.endpoint, AWS_ENDPOINT_URL_DYNAMODB: proxies.dynamodb.endpoint } : b.env;
  const serverEnv = (b: Backend, dataDir: string, overrides: Record<string, string>) => ({
    BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    ...routedEnv(b),
    ...overrides,
    BLOBSERVER_DATA_DIR: dataDir,
    PORT: '0',
  });
  const closeAll = async () => {
    await Promise.all([...siblings].map((s) => s.close()));
    siblings.clear();
    await server?.close();
    await backend?.close();
    await Promise.all([proxies?.s3.close(), proxies?.dynamodb.close()]);
  };
  try {
    backend = await factory(dir);
    if (options.proxy) {
      const [s3, dynamodb] = await Promise.all([startAwsProxy(backend.env.AWS_ENDPOINT_URL_S3), startAwsProxy(backend.env.AWS_ENDPOINT_URL_DYNAMODB)]);
      proxies = { s3, dynamodb };
    }
    server = await startLocalServer(serverEnv(backend, dir, env));
  } catch (err) {
    await closeAll();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let siblingCount = 0;
  const ts: TestServer = {
    url: server.url,
    server,
    backend,
    dir,
    proxies,
    storage: storageProbe(() => ts.backend.env, { bucket: server.config.bucketName, table: server.config.tableName }),
    startSibling: async (overrides) => {
      const sibling = await startLocalServer(serverEnv(ts.backend, join(dir, `sibling-${++siblingCount}`), { ...env, ...overrides }));
      siblings.add(sibling);
      // A closed sibling leaves the set closeAll stops.
      return {
        ...sibling,
        close: async () => {
          siblings.delete(sibling);
          await sibling.close();
        },
      };
    },
    restart: async () => {
      await ts.server.close();
      await ts.backend.close();
      backend = await factory(dir);
      proxies?.s3.retarget(backend.env.AWS_ENDPOINT_URL_S3);
      proxies?.dynamodb.retarget(backend.env.AWS_ENDPOINT_URL_DYNAMODB);
      server = await startLocalServer(serverEnv(backend, dir, env));
      Object.assign(ts, { url: server.url, server, backend });
    },
    close: async () => {
      await closeAll();
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
