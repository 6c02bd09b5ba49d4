import { loadTracer } from '../lambda/core/telemetry.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Config } from '../lambda/core/config.js';
import { readLocalServerConfig } from './config.js';
import { dynamoClientFor, s3ClientFor } from '../lambda/core/aws/aws-clients.js';
import { createDeps, type Deps } from '../lambda/core/deps.js';
import { clearStaleCreationLocks } from '../lambda/core/storage/dynamodb-creation-lock.js';
import type { Handler } from '../lambda/core/http/http.js';
import { LAMBDA_EVENT_LIMIT } from '../lambda/core/limits.js';
import { createReadSide } from '../lambda/read.js';
import { createWriteSide } from '../lambda/write.js';
import type { Side } from '../lambda/routes.js';
import { DataDirBusy, lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { onEmbeddedAws, startEmbeddedAws, type EmbeddedAws } from './emulators.js';
import { NOT_FOUND, RESPONSE_TOO_LARGE, TOO_LARGE, exceedsEventLimit, exceedsResponseLimit, fromResult, matchRoute, toEvent } from './event.js';
import { ensureKeyFile } from './keys.js';
import { ensureBucket, ensureTable, migrateLegacyTable } from '../lambda/core/storage/provision.js';
import { corsResponseHeaders, listedOrigins, preflight, type AllowOrigin } from './cors.js';
import { startS3Front } from './s3-front.js';
import { awsRefusal, dataDirRefusal } from './refusals.js';
import { buildUiPage } from '../ui/build.js';

/**
 * The local server: HTTP -> API Gateway v2 event -> the very handlers Lambda runs.
 * Starts dynalite + s3rver under the data directory unless an AWS endpoint is configured.
 */

export interface LocalServer {
  url: string;
  config: Config;
  /** The handlers' dependencies; with per-side roles each side has its own, and these sign as neither (tests reach storage with them). */
  deps: Deps;
  /** True when the embedded emulators are in use. */
  embedded: boolean;
  /** Where the embedded emulators keep their data. */
  dataDir: string;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** A reason the server cannot start that the user can fix; `npm start` prints its message alone, as one line. */
export class StartupError extends Error {}

/** `err` as a StartupError when `message` explains it in one line, else `err` itself (a bug keeps its stack). */
function refusal(err: unknown, message: string | undefined): unknown {
  return message ? new StartupError(message, { cause: err }) : err;
}

/** `env` defaults to the process environment (config.ts reads it). */
export async function startLocalServer(env?: Env): Promise<LocalServer> {
  const { host, port, dataDir, embedded, emulatorThreads, corsOrigins, config: configured, sideSessionTokenPrefix } = readLocalServerConfig(env, resolve);
  if (configured.auth.kind === 'none' && !LOOPBACK.test(host)) {
    throw new StartupError(`refusing to listen on ${host} without credentials: set BLOBSERVER_AUTH=userpass:USER:PASSWORD`);
  }

  const listed = listedOrigins(corsOrigins);
  // The page at /ui/ reaches the S3 front (another port, so another origin) from this server's own origin.
  let ownPort: number | undefined;
  const isOwnPage = (origin: string) => {
    const url = URL.canParse(origin) ? new URL(origin) : undefined;
    return url?.protocol === 'http:' && Number(url.port) === ownPort && (LOOPBACK.test(url.hostname.replace(/^\[|\]$/g, '')) || url.hostname === host);
  };

  // The embedded emulators' files are one process's at a time.
  let lock: DataDirLock | undefined;
  try {
    lock = embedded ? await lockDataDir(dataDir) : undefined;
  } catch (err) {
    if (err instanceof DataDirBusy) throw new StartupError(err.message);
    throw refusal(err, dataDirRefusal(dataDir, err));
  }
  let emulators: EmbeddedAws | undefined;
  try {
    // Clients reach s3rver only through its authenticating front, which answers CORS too.
    emulators = embedded
      ? await startEmbeddedAws(dataDir, {
          allowOrigin: (origin) => listed(origin) || isOwnPage(origin),
          threads: emulatorThreads,
        })
      : undefined;
  } catch (err) {
    await lock?.release();
    throw refusal(err, dataDirRefusal(dataDir, err));
  }
  const onEmulators: Config = emulators ? onEmbeddedAws(configured, emulators) : configured;

  // Clients reach a loopback S3 through the front (uploadForm POSTs need its `${filename}`;
  // presigned GETs its signature and Range checks, with the static keys the URLs are signed with).
  // (The embedded s3rver has its front already: emulators.ts.)
  const front =
    !emulators && !onEmulators.endpoints.s3Public && presignEndpoint(onEmulators.endpoints.s3, host)
      ? await startS3Front(onEmulators.endpoints.s3!, undefined, {
          verify: onEmulators.credentials,
          allowOrigin: (origin) => listed(origin) || isOwnPage(origin),
        })
      : undefined;
  const config: Config = {
    ...onEmulators,
    endpoints: { ...onEmulators.endpoints, s3Public: onEmulators.endpoints.s3Public ?? presignEndpoint(front?.endpoint ?? emulators?.s3.endpoint, host) },
    creationLockHolder: `local:${dataDir}`,
    // One storage answers the preupload and then the upload of each batch (not so when each
    // side has its own role, as the Lambda functions do).
    rememberAbsence: !sideSessionTokenPrefix,
  };
  const stopStorage = async () => {
    await front?.close();
    await emulators?.close();
    await lock?.release();
  };

  try {
    // With POWERTOOLS_TRACE_ENABLED=true the clients are traced as in Lambda: the tracer first.
    await loadTracer(config.telemetry);
    await Promise.all([ensureTable(dynamoClientFor(config), config.tableName), ensureBucket(s3ClientFor(config), config.bucketName)]);
    // Data from the first storage model: copied to today's table before anything is served, and
    // the old table dropped. Only on an emulator (embedded, or an endpoint such as LocalStack):
    // against AWS itself the old table is CloudFormation's to retain and the API may still be
    // writing to it, so there it is `npm run migrate`'s job, which never deletes it.
    const migrated = config.endpoints.dynamodb ? await migrateLegacyTable(config) : undefined;
    if (migrated !== undefined) console.error(`migrated ${migrated} index rows from ${config.legacyTableName} to ${config.tableName}`);
    if (config.signingKeys.kind === 'file') await ensureKeyFile(config.signingKeys.path);
    // A server killed while it held a namespace's row-creation lock would make this one's
    // uploads wait out the lock's TTL: this server succeeds that one on its data directory.
    await clearStaleCreationLocks(dynamoClientFor(config), config.tableName, config.creationLockHolder!);
  } catch (err) {
    await stopStorage();
    throw refusal(err, awsRefusal(config, err) ?? dataDirRefusal(dataDir, err));
  }

  // The page's script is built here from its sources (the Lambda bundle has it built in).
  const deps = createDeps(config, { uiPage: buildUiPage });
  const sideDeps = (side: Side): Deps =>
    sideSessionTokenPrefix ? createDeps(underSideRole(config, side, sideSessionTokenPrefix), { uiPage: buildUiPage }) : deps;
  const sides: Record<Side, Handler> = { read: createReadSide(sideDeps('read')), write: createWriteSide(sideDeps('write')) };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res, sides, corsOrigins.length ? listed : undefined).catch((err) => {
      deps.log.error('local server failure', { error: err as Error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errorText: 'internal server error' }));
    });
  };
  const server = createServer(handle);
  // `Expect: 100-continue`: a body declared too large is refused before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaredTooLarge(req)) return refuseTooLarge(res);
    res.writeContinue();
    handle(req, res);
  });
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => ok());
    });
  } catch (err) {
    await stopStorage();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new StartupError(`port ${port} on ${host} is already in use (another blobserver?): stop it, or set PORT to a free port (PORT=0: any)`);
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new StartupError(`cannot listen on ${host}:${port} (${code}): set BLOBSERVER_HOST and PORT`);
    throw err;
  }
  const address = server.address() as AddressInfo;
  ownPort = address.port;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${shownHost}:${address.port}`,
    config,
    deps,
    embedded,
    dataDir,
    close: async () => {
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      await stopStorage();
    },
  };
}

/**
 * Go's HTTP client (Perkeep's) forwards the caller's Authorization header when it follows a
 * redirect to the same hostname, whatever the port, and S3 refuses a presigned URL that also
 * carries one. So presigned URLs name a loopback S3 by the other loopback name than the one
 * this server listens on (and prints): 127.0.0.1 <-> localhost.
 */
export function presignEndpoint(s3Endpoint: string | undefined, serverHost: string): string | undefined {
  if (!s3Endpoint) return undefined;
  const url = new URL(s3Endpoint);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') return undefined;
  url.hostname = serverHost === 'localhost' ? '127.0.0.1' : 'localhost';
  return url.toString().replace(/\/$/, '');
}

/** The config one side runs with when each side has its own role (test lanes: see LocalServerConfig). */
function underSideRole(config: Config, side: Side, prefix: string): Config {
  if (!config.credentials) throw new Error('BLOBSERVER_SIDE_SESSION_TOKEN_PREFIX needs static credentials (an emulator endpoint)');
  const role = `${prefix}${side}${config.allowRemove ? '+allowRemove' : ''}`;
  return { ...config, credentials: { ...config.credentials, sessionToken: role } };
}

/** Whether the request's Content-Length already says it is over the limit (the Lambda event limit). */
export function declaredTooLarge(req: IncomingMessage, limit = LAMBDA_EVENT_LIMIT): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && /^[0-9]+$/.test(declared) && Number(declared) > limit;
}

/** API Gateway's 413, and the connection is closed: the rest of the body is never read. */
export function refuseTooLarge(res: ServerResponse, answer = TOO_LARGE): void {
  const out = fromResult(answer);
  res.writeHead(out.status, { ...out.headers, connection: 'close' });
  res.end(out.body);
}

/**
 * Reads the body up to the limit (the Lambda event limit). A body that goes past it (chunked or
 * streaming, whatever it declared) is not read further: undefined, and the caller answers
 * 413 and closes the connection, as API Gateway cuts such a request off.
 */
export function readBody(req: IncomingMessage, limit = LAMBDA_EVENT_LIMIT): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.pause();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        resolve(undefined);
      } else chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks, size));
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('error', reject);
    // A client gone mid-body (a settled promise ignores this).
    req.once('close', () => req.complete || reject(new Error('the client closed the connection before the body ended')));
  });
}

/** `cors`: the listed origins (BLOBSERVER_CORS_ORIGINS), or undefined when none are, as API Gateway without CORS. */
async function serve(req: IncomingMessage, res: ServerResponse, sides: Record<Side, Handler>, cors?: AllowOrigin): Promise<void> {
  const asked = cors && preflight(req.method ?? 'GET', req.headers, cors);
  if (asked) {
    req.resume();
    res.writeHead(asked.status, asked.headers).end();
    return;
  }
  if (cors) {
    for (const [name, value] of Object.entries(corsResponseHeaders(req.headers, cors))) res.setHeader(name, value);
  }
  if (declaredTooLarge(req)) return refuseTooLarge(res);
  const body = await readBody(req);
  if (body === undefined) return refuseTooLarge(res);
  const url = req.url ?? '/';
  const match = matchRoute(req.method ?? 'GET', url.split('?')[0]!);
  const event = toEvent({ method: req.method ?? 'GET', url, headers: req.headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' }, match);
  let result = exceedsEventLimit(event) ? TOO_LARGE : !match ? NOT_FOUND : await sides[match.route.side](event);
  if (exceedsResponseLimit(result)) result = RESPONSE_TOO_LARGE;
  const out = fromResult(result);
  res.writeHead(out.status, out.headers);
  // A HEAD answer keeps the handler's Content-Length (the GET body's length) but sends no body.
  res.end(req.method === 'HEAD' ? undefined : out.body);
}
