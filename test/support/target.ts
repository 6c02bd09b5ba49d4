import { rotateKeyFile } from '../../local/keys.js';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { parseUserPass } from '../../lambda/core/config.js';
import { DEFAULT_MAX_UPLOAD_SIZE, DEFAULT_UPLOAD_URL_TTL_SECONDS, MAX_BLOB_SIZE } from '../../lambda/core/limits.js';
import type { StorageProbe } from './storage.js';
import { isPutObjectOf } from './storage.js';
import { basicAuth, startTestServer, type Lane } from './test-server.js';

/**
 * What an HTTP protocol suite runs against: a local server this process controls (every
 * capability) or an already running server somewhere else (LocalStack, AWS: none). Suites
 * declare the capabilities a test needs, and a target without one reports that test as
 * skipped, never as passed.
 */
export type Capability =
  /** Stop and start server and storage on the same data. */
  | 'restart'
  /** Read S3 objects and index rows directly, and count the server's S3 writes. */
  | 'storage'
  /** Start further servers with other settings (short TTL, small maxUploadSize, no credentials) on the same storage. */
  | 'siblings'
  /** Rotate the upload-URL signing key while the server runs. */
  | 'keyRotation'
  /** Call startLocalServer directly (start-up refusals). */
  | 'localServer'
  /**
   * S3 checks a presigned POST's policy conditions (size range, key prefix, pinned fields,
   * expiry): real S3 and LocalStack do, s3rver does not. Without it, only the completion
   * endpoint's own checks are exercised.
   */
  | 'enforcesPostPolicy'
  /**
   * S3 also checks the POST's signature over its policy, so an altered policy is refused: real
   * S3 does; LocalStack (host mode) and s3rver do not, so no local lane has it.
   */
  | 'verifiesPostSignature';

/** What a local server on s3rver can do: everything but what only a real S3 implementation enforces. */
export const ALL_CAPABILITIES: readonly Capability[] = ['restart', 'storage', 'siblings', 'keyRotation', 'localServer'];

/** A server reachable over HTTP. */
export interface Endpoint {
  /** Base URL without a trailing slash (may include an API Gateway stage path). */
  url: string;
  close(): Promise<void>;
}

export interface Target extends Endpoint {
  /** The Authorization header for the server's credentials; undefined when it is open. */
  authorization?: string | undefined;
  /** The server's configured settings, when the target knows them (for exact checks). */
  expected: { maxUploadSize?: number; uploadUrlTtlSeconds?: number; maxBlobSize?: number };
  restart?(): Promise<void>;
  storage?: StorageProbe & {
    /** How many S3 PutObject requests for this blob's object the server has made so far. */
    putObjectCount(ref: string): number;
  };
  /** Another server on the same storage with these settings (env overrides), e.g. BLOBSERVER_UPLOAD_URL_TTL_SECONDS. */
  sibling?(env: Record<string, string>): Promise<Endpoint>;
  rotateKey?(): Promise<void>;
  /** startLocalServer with the target's storage and these env overrides. */
  startLocal?(env: Record<string, string>): Promise<LocalServer>;
}

export interface TargetSpec {
  name: string;
  /** Why this target cannot run here (the whole suite is then reported skipped), or undefined. */
  unavailable?: string | undefined;
  /** Whether the server requires credentials (so 401 checks apply). */
  authenticated: boolean;
  capabilities: readonly Capability[];
  open(): Promise<Target>;
}

/** A local server over one emulator lane, with proxies in front of the emulators to count S3 writes. */
export function localTargetSpec(lane: Lane): TargetSpec {
  return {
    name: lane.name,
    unavailable: lane.unavailable(),
    authenticated: true,
    // The local server's S3 front (local/s3-front.ts) checks a form's signed policy whatever the
    // emulator behind it (s3rver checks none of it).
    capabilities: [...ALL_CAPABILITIES, 'enforcesPostPolicy', 'verifiesPostSignature'],
    open: async () => {
      const ts = await startTestServer(lane.factory, {}, { proxy: true });
      const proxies = ts.proxies!;
      return {
        get url() {
          return ts.url;
        },
        authorization: basicAuth(),
        expected: { maxUploadSize: DEFAULT_MAX_UPLOAD_SIZE, uploadUrlTtlSeconds: DEFAULT_UPLOAD_URL_TTL_SECONDS, maxBlobSize: MAX_BLOB_SIZE },
        restart: () => ts.restart(),
        storage: {
          ...ts.storage,
          putObjectCount: (ref) => proxies.s3.requests.filter((r) => isPutObjectOf(r, ref)).length,
        },
        sibling: async (env) => ts.startSibling(env),
        rotateKey: async () => {
          const keys = ts.server.config.signingKeys;
          if (keys.kind !== 'file') throw new Error('the local server should sign with a key file');
          await rotateKeyFile(keys.path);
        },
        startLocal: (env) =>
          startLocalServer({
            ...ts.backend.env,
            POWERTOOLS_LOG_LEVEL: 'CRITICAL',
            BLOBSERVER_DATA_DIR: `${ts.dir}/direct`,
            PORT: '0',
            ...env,
          }),
        close: () => ts.close(),
      };
    },
  };
}

/**
 * An already running server: `BLOBSERVER_TEST_REMOTE_URL` (set by scripts/test-remote.mjs)
 * with credentials from `BLOBSERVER_TEST_AUTH=userpass:USER:PASSWORD` (unset: an open server).
 * `BLOBSERVER_TEST_S3_ENFORCES_POLICY=1` says its S3 is a real implementation (AWS, LocalStack).
 */
export function remoteTargetSpec(env: Record<string, string | undefined> = process.env): TargetSpec {
  const url = (env['BLOBSERVER_TEST_REMOTE_URL'] ?? '').replace(/\/+$/, '');
  const auth = env['BLOBSERVER_TEST_AUTH'] ? parseUserPass(env['BLOBSERVER_TEST_AUTH']) : undefined;
  return {
    name: `remote ${url || '(no URL)'}`,
    unavailable: url ? undefined : 'no remote server: run `npm run test:remote -- <BASE_URL>`',
    authenticated: auth !== undefined,
    // Real S3 behind a deployment enforces both; say so with BLOBSERVER_TEST_S3_ENFORCES_POLICY=1.
    capabilities: env['BLOBSERVER_TEST_S3_ENFORCES_POLICY'] === '1' ? ['enforcesPostPolicy', 'verifiesPostSignature'] : [],
    open: async () => ({
      url,
      authorization: auth ? basicAuth(auth.username, auth.password) : undefined,
      expected: {},
      close: async () => undefined,
    }),
  };
}
