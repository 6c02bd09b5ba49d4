import {
  DEFAULT_MAX_UPLOAD_SIZE,
  DEFAULT_UPLOAD_URL_TTL_SECONDS,
  defaultCompletionGraceSeconds,
  MAX_ALLOWED_BLOB_SIZE,
  MAX_BLOB_SIZE,
  MAX_INLINE_BLOB_SIZE,
  maxUploadSizeProblem,
  REVOCATION_BOUND_SECONDS,
} from './limits.js';

/** The table today's code creates and writes (`npm run migrate` copies rows from the legacy one). */
export const DEFAULT_TABLE_NAME = 'blobserver-index-v2';
/** The table of the first storage model (pk blobRef only, rows point at `blobs/<ref>`). */
export const LEGACY_TABLE_NAME = 'blobserver-index';

/**
 * Every setting the handlers read, from the environment, in one place. The cloud and the
 * local server differ only in these values.
 */
export interface Config {
  tableName: string;
  /** The first storage model's table, which `npm run migrate` (and the local server) copies rows from. */
  legacyTableName: string;
  bucketName: string;
  region: string;
  /** Per-service endpoints; undefined means the AWS default. LocalStack sets AWS_ENDPOINT_URL. */
  endpoints: {
    s3?: string | undefined;
    dynamodb?: string | undefined;
    secretsManager?: string | undefined;
    /**
     * The S3 endpoint in presigned URLs given to clients, when they must reach S3 by another
     * address than the functions do (LocalStack in Docker, the local server); default `s3`.
     */
    s3Public?: string | undefined;
  };
  /** Path-style S3 URLs, needed by emulators and LocalStack (no virtual-host DNS there). */
  s3ForcePathStyle: boolean;
  uploadUrlTtlSeconds: number;
  /**
   * How long a form's completion URL outlives the form (limits.ts: the largest POST at the
   * slowest supported rate), so bytes S3 accepted in time are always completed.
   */
  completionGraceSeconds: number;
  maxUploadSize: number;
  /** Largest blob accepted, by any upload lane (the presigned POST's content-length-range too). */
  maxBlobSize: number;
  allowRemove: boolean;
  /** Largest blob a GET answers inline; bigger ones redirect to S3. Never above MAX_INLINE_BLOB_SIZE. */
  maxInlineGetSize: number;
  /** Where HTTP Basic credentials come from; `none` only for a loopback-only local server. */
  auth: AuthSource;
  /** Where the upload-URL signing keys come from. */
  signingKeys: KeySource;
  /**
   * How long a function uses a credential row before reading it again: the revocation bound
   * (auth/credential-cache.ts), at most REVOCATION_BOUND_SECONDS (60, the default).
   */
  credentialCacheSeconds: number;
  /**
   * Names this process in the namespaces' row-creation locks (storage/dynamodb-creation-lock.ts);
   * default host and pid. The local server names its data directory, so a restart can take
   * back what its killed predecessor held.
   */
  creationLockHolder?: string | undefined;
  /**
   * One process answers both the preuploads and the uploads (the local server): it remembers the
   * rows its reads found absent, so an upload after its preupload reads no row twice
   * (storage/absence-memo.ts). Off in Lambda, where they are different functions.
   */
  rememberAbsence?: boolean | undefined;
  /** Powertools settings (log level, metrics switch, service name), passed through to telemetry. */
  telemetry: Record<string, string | undefined>;
  /** The AWS SDK's own per-request defaults instead of aws-clients.ts's cuts (BLOBSERVER_SDK_DEFAULTS=true; for comparison). */
  sdkDefaults?: boolean;
  /** Static AWS credentials for emulators; undefined (the cloud) means the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
}

export type AuthSource = { kind: 'none' } | { kind: 'userpass'; username: string; password: string } | { kind: 'secret'; secretId: string };

export type KeySource = { kind: 'secret'; secretId: string } | { kind: 'file'; path: string };

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) <= 0) throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** `userpass:USER:PASSWORD`, Perkeep's own notation for HTTP Basic credentials. */
export function parseUserPass(spec: string): { username: string; password: string } {
  const m = /^userpass:([^:]+):(.+)$/.exec(spec);
  if (!m) throw new ConfigError('BLOBSERVER_AUTH must look like userpass:USER:PASSWORD');
  return { username: m[1]!, password: m[2]! };
}

/** A lower inline-GET limit is allowed (it exercises the S3 redirect with small blobs); a higher one would break on Lambda. */
function maxInlineGetSize(env: Env): number {
  const value = positiveInt(env, 'BLOBSERVER_MAX_INLINE_GET_SIZE', MAX_INLINE_BLOB_SIZE);
  if (value > MAX_INLINE_BLOB_SIZE) {
    throw new ConfigError(`BLOBSERVER_MAX_INLINE_GET_SIZE must be at most ${MAX_INLINE_BLOB_SIZE} (Lambda's 6 MB response cap)`);
  }
  return value;
}

/** The revocation bound may be lowered (tests, a stricter deployment), never raised above 60 s. */
function credentialCacheSeconds(env: Env): number {
  const value = positiveInt(env, 'BLOBSERVER_CREDENTIAL_CACHE_SECONDS', REVOCATION_BOUND_SECONDS);
  if (value > REVOCATION_BOUND_SECONDS)
    throw new ConfigError(`BLOBSERVER_CREDENTIAL_CACHE_SECONDS must be at most ${REVOCATION_BOUND_SECONDS} (the revocation bound)`);
  return value;
}

/** The stack's bound (limits.ts), so what runs locally also deploys. */
function maxUploadSize(env: Env): number {
  const value = positiveInt(env, 'BLOBSERVER_MAX_UPLOAD_SIZE', DEFAULT_MAX_UPLOAD_SIZE);
  const problem = maxUploadSizeProblem(value);
  if (problem) throw new ConfigError(`BLOBSERVER_MAX_UPLOAD_SIZE ${problem}`);
  return value;
}

/** Bounded by what a completion can verify inside API Gateway's 29 s (limits.ts). */
function maxBlobSize(env: Env): number {
  const value = positiveInt(env, 'BLOBSERVER_MAX_BLOB_SIZE', MAX_BLOB_SIZE);
  if (value > MAX_ALLOWED_BLOB_SIZE) {
    throw new ConfigError(`BLOBSERVER_MAX_BLOB_SIZE must be at most ${MAX_ALLOWED_BLOB_SIZE} (what one upload completion verifies well inside 29 s)`);
  }
  return value;
}

/** The Powertools settings (POWERTOOLS_*, AWS_LAMBDA_LOG_LEVEL), for telemetry.ts; all a function without other config needs. */
export function readTelemetryConfig(env: Env = process.env): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('POWERTOOLS_') || k === 'AWS_LAMBDA_LOG_LEVEL'));
}

export function readConfig(env: Env = process.env): Config {
  const common = env['AWS_ENDPOINT_URL'] || undefined;
  const s3 = env['AWS_ENDPOINT_URL_S3'] || common;
  const auth: AuthSource = env['BLOBSERVER_AUTH']
    ? { kind: 'userpass', ...parseUserPass(env['BLOBSERVER_AUTH']) }
    : env['BLOBSERVER_AUTH_SECRET_ID']
      ? { kind: 'secret', secretId: env['BLOBSERVER_AUTH_SECRET_ID'] }
      : { kind: 'none' };
  const signingKeys: KeySource = env['BLOBSERVER_SIGNING_KEY_SECRET_ID']
    ? { kind: 'secret', secretId: env['BLOBSERVER_SIGNING_KEY_SECRET_ID'] }
    : { kind: 'file', path: env['BLOBSERVER_SIGNING_KEY_FILE'] || `${env['BLOBSERVER_DATA_DIR'] || '.data'}/signing-keys.json` };
  const blobLimit = maxBlobSize(env);
  return {
    tableName: env['BLOBSERVER_TABLE'] || DEFAULT_TABLE_NAME,
    legacyTableName: env['BLOBSERVER_LEGACY_TABLE'] || LEGACY_TABLE_NAME,
    bucketName: env['BLOBSERVER_BUCKET'] || 'blobserver-blobs',
    region: env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1',
    endpoints: {
      s3,
      dynamodb: env['AWS_ENDPOINT_URL_DYNAMODB'] || common,
      secretsManager: env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] || common,
      s3Public: env['BLOBSERVER_S3_PUBLIC_ENDPOINT'] || undefined,
    },
    s3ForcePathStyle: env['BLOBSERVER_S3_FORCE_PATH_STYLE'] ? env['BLOBSERVER_S3_FORCE_PATH_STYLE'] === 'true' : s3 !== undefined,
    uploadUrlTtlSeconds: positiveInt(env, 'BLOBSERVER_UPLOAD_URL_TTL_SECONDS', DEFAULT_UPLOAD_URL_TTL_SECONDS),
    completionGraceSeconds: positiveInt(env, 'BLOBSERVER_COMPLETION_GRACE_SECONDS', defaultCompletionGraceSeconds(blobLimit)),
    maxUploadSize: maxUploadSize(env),
    maxBlobSize: blobLimit,
    allowRemove: env['BLOBSERVER_ALLOW_REMOVE'] === 'true',
    maxInlineGetSize: maxInlineGetSize(env),
    auth,
    signingKeys,
    telemetry: readTelemetryConfig(env),
    sdkDefaults: env['BLOBSERVER_SDK_DEFAULTS'] === 'true',
    credentialCacheSeconds: credentialCacheSeconds(env),
  };
}
