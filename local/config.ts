import { ConfigError, readConfig, type Config } from '../lambda/core/config.js';

/**
 * The local server's own settings (`npm start`, `npm run fsck`, the test lanes), from the
 * environment: where it listens, its data directory, the embedded emulators, CORS, static
 * credentials for emulators and the test lanes' per-side roles. The handlers' settings are
 * lambda/core/config.ts's, which is all the Lambda functions read.
 */

type Env = Record<string, string | undefined>;

/** The local server's own settings (`npm start`, the tests): where it listens and what it runs on. */
export interface LocalServerConfig {
  host: string;
  port: number;
  /** Where the embedded emulators keep their data (and the signing-key file by default). */
  dataDir: string;
  /** Start dynalite + s3rver: when no AWS endpoint is configured, unless BLOBSERVER_EMBEDDED=false. */
  embedded: boolean;
  /** dynalite and s3rver each on a worker thread (BLOBSERVER_EMULATOR_THREADS, default true; local/emulator-thread.ts). */
  emulatorThreads: boolean;
  /** Browser origins allowed by CORS (BLOBSERVER_CORS_ORIGINS, comma-separated), as the stack's `corsOrigins`. */
  corsOrigins: string[];
  /** The handlers' configuration; the endpoints of embedded emulators are filled in once they listen. */
  config: Config;
  /**
   * Test lanes only (BLOBSERVER_SIDE_SESSION_TOKEN_PREFIX): each side signs its AWS calls with
   * its own session token, `<prefix><side>[+allowRemove]`, so a policy-checking proxy can hold
   * each function to its own role, as two Lambda functions with two roles would be.
   */
  sideSessionTokenPrefix?: string | undefined;
}

/** `https://app.example,http://127.0.0.1:8080`: origins exactly as browsers send them (scheme, host, port; no path). */
function corsOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(o);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== o) {
      throw new ConfigError(`BLOBSERVER_CORS_ORIGINS: ${JSON.stringify(o)} is not an origin like https://app.example or http://127.0.0.1:8080`);
    }
  }
  return origins;
}

/** A TCP port (0: any free one), checked before anything is created. */
function port(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3179;
  const n = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n <= 65535)) throw new ConfigError(`PORT must be a port number from 0 to 65535 (0: any free port), got ${JSON.stringify(raw)}`);
  return n;
}

export function readLocalServerConfig(env: Env = process.env, resolvePath: (p: string) => string = (p) => p): LocalServerConfig {
  const dataDir = resolvePath(env['BLOBSERVER_DATA_DIR'] || '.data');
  // EMF metrics are for CloudWatch; on a laptop they would only flood stdout, so they are off unless asked for.
  const base = readConfig({ POWERTOOLS_METRICS_DISABLED: 'true', ...env, BLOBSERVER_DATA_DIR: dataDir });
  const embedded = !base.endpoints.s3 && !base.endpoints.dynamodb && env['BLOBSERVER_EMBEDDED'] !== 'false';
  // From `env` (which need not be the process's), session token included: temporary credentials
  // (SSO, an assumed role) need it, and their expiry (AWS_CREDENTIAL_EXPIRATION, as the SDK reads
  // it) caps what presigned URLs promise (signing-lifetime.ts).
  const expiration = env['AWS_CREDENTIAL_EXPIRATION'] ? new Date(env['AWS_CREDENTIAL_EXPIRATION']) : undefined;
  if (expiration && Number.isNaN(expiration.getTime()))
    throw new ConfigError(`AWS_CREDENTIAL_EXPIRATION must be a date, got ${JSON.stringify(env['AWS_CREDENTIAL_EXPIRATION'])}`);
  const credentials = embedded
    ? undefined // the emulators' own, once they run
    : env['AWS_ACCESS_KEY_ID']
      ? {
          accessKeyId: env['AWS_ACCESS_KEY_ID'],
          secretAccessKey: env['AWS_SECRET_ACCESS_KEY'] ?? '',
          ...(env['AWS_SESSION_TOKEN'] ? { sessionToken: env['AWS_SESSION_TOKEN'] } : {}),
          ...(env['AWS_SESSION_TOKEN'] && expiration ? { expiration } : {}),
        }
      : base.endpoints.s3 || base.endpoints.dynamodb
        ? { accessKeyId: 'test', secretAccessKey: 'test' } // LocalStack's convention
        : undefined;
  return {
    host: env['BLOBSERVER_HOST'] || '127.0.0.1',
    port: port(env['PORT']),
    dataDir,
    embedded,
    emulatorThreads: env['BLOBSERVER_EMULATOR_THREADS'] !== 'false',
    corsOrigins: corsOrigins(env['BLOBSERVER_CORS_ORIGINS']),
    config: { ...base, ...(credentials ? { credentials } : {}) },
    sideSessionTokenPrefix: env['BLOBSERVER_SIDE_SESSION_TOKEN_PREFIX'] || undefined,
  };
}
