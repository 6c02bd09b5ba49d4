import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DEFAULT_MAX_UPLOAD_SIZE,
  DEFAULT_UPLOAD_URL_TTL_SECONDS,
  MAX_ALLOWED_BLOB_SIZE,
  MAX_BLOB_SIZE,
  MAX_RAW_BODY_IN_LAMBDA_PAYLOAD,
  maxUploadSizeProblem,
  SECRET_CACHE_SECONDS,
} from '../lambda/core/limits.js';

/** Everything a deployment may choose; each comes from CDK context (`--context key=value`) or props. */
export interface BlobServerSettings {
  /** HTTP API stage; `$default` serves at the root, so Perkeep's blobRoot "/" works unchanged. */
  stageName: string;
  maxUploadSize: number;
  /** Largest blob, by any lane; the uploadForm's content-length-range. */
  maxBlobSize: number;
  uploadUrlTtlSeconds: number;
  /** Browser origins allowed by CORS; empty means no CORS configuration at all. */
  corsOrigins: string[];
  /** Enables POST /camli/remove and, only then, grants the write side delete permissions. */
  allowRemove: boolean;
  /** Dev stacks: data, logs and secrets are destroyed with the stack instead of retained. */
  ephemeral: boolean;
  /** The HTTP Basic user name stored with the generated password. */
  username: string;
  throttleRateLimit: number;
  throttleBurstLimit: number;
  logRetention: RetentionDays;
  /** How often the upload-URL signing key rotates; must exceed TTL + secret cache time. */
  signingKeyRotationDays: number;
  /** An existing SNS topic the alarms notify; without it the alarms only change state. */
  alarmTopicArn?: string;
  /** Scheduled garbage collection (fsck --repair, infra/collection.ts); false: the state machine is deployed, never scheduled. */
  collectionEnabled: boolean;
  /** Hours between scheduled collections. */
  collectionIntervalHours: number;
  /** X-Ray tracing of every function through Powertools Tracer (infra/tracing.ts); off: no traces, no X-Ray cost. */
  tracing: boolean;
}

/** The largest body a Lambda behind API Gateway can take (see lambda/core/limits.ts). */
export const MAX_UPLOAD_SIZE_ON_LAMBDA = MAX_RAW_BODY_IN_LAMBDA_PAYLOAD;

export const DEFAULT_SETTINGS: BlobServerSettings = {
  stageName: '$default',
  maxUploadSize: DEFAULT_MAX_UPLOAD_SIZE,
  maxBlobSize: MAX_BLOB_SIZE,
  uploadUrlTtlSeconds: DEFAULT_UPLOAD_URL_TTL_SECONDS,
  corsOrigins: [],
  allowRemove: false,
  ephemeral: false,
  username: 'camli',
  // pk-put sends one blob per request (plus a stat per batch of them): 500 requests/s lets one
  // user's pk-put store about 400 blobs/s, within 2x of perkeepd on local disk. Worst case, a
  // leaked credential held at the cap costs about $12/hour (docs/storage-model.md).
  throttleRateLimit: 500,
  throttleBurstLimit: 1000,
  logRetention: RetentionDays.ONE_MONTH,
  signingKeyRotationDays: 30,
  collectionEnabled: true,
  // Daily: garbage is collected within a day (plus the 1 h grace) at 1/7 the requests of hourly
  // runs' week; docs/storage-model.md has the requests and cost per run.
  collectionIntervalHours: 24,
  tracing: false,
};

export class SettingsError extends Error {}

/** The subset of a construct node this module reads, so tests can pass a plain map. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

function bool(key: string, raw: unknown, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new SettingsError(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
}

function int(key: string, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new SettingsError(`context ${key} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

function str(key: string, raw: unknown, fallback: string): string;
function str(key: string, raw: unknown, fallback: undefined): string | undefined;
function str(key: string, raw: unknown, fallback: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string') throw new SettingsError(`context ${key} must be a string, got ${JSON.stringify(raw)}`);
  return raw;
}

/** A JSON array (cdk.json) or a comma-separated string (`--context corsOrigins=a,b`). */
function list(key: string, raw: unknown): string[] {
  if (raw === undefined || raw === '') return [];
  if (Array.isArray(raw) && raw.every((o) => typeof o === 'string')) return raw;
  if (typeof raw === 'string')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  throw new SettingsError(`context ${key} must be a list of strings, got ${JSON.stringify(raw)}`);
}

export function settingsFromContext(ctx: ContextSource): BlobServerSettings {
  const d = DEFAULT_SETTINGS;
  const settings = validateSettings({
    stageName: str('stage', ctx.tryGetContext('stage'), d.stageName),
    maxUploadSize: int('maxUploadSize', ctx.tryGetContext('maxUploadSize'), d.maxUploadSize),
    maxBlobSize: int('maxBlobSize', ctx.tryGetContext('maxBlobSize'), d.maxBlobSize),
    uploadUrlTtlSeconds: int('uploadUrlTtlSeconds', ctx.tryGetContext('uploadUrlTtlSeconds'), d.uploadUrlTtlSeconds),
    corsOrigins: list('corsOrigins', ctx.tryGetContext('corsOrigins')),
    allowRemove: bool('allowRemove', ctx.tryGetContext('allowRemove'), d.allowRemove),
    ephemeral: bool('ephemeral', ctx.tryGetContext('ephemeral'), d.ephemeral),
    username: str('username', ctx.tryGetContext('username'), d.username),
    throttleRateLimit: int('throttleRateLimit', ctx.tryGetContext('throttleRateLimit'), d.throttleRateLimit),
    throttleBurstLimit: int('throttleBurstLimit', ctx.tryGetContext('throttleBurstLimit'), d.throttleBurstLimit),
    logRetention: int('logRetentionDays', ctx.tryGetContext('logRetentionDays'), d.logRetention) as RetentionDays,
    signingKeyRotationDays: int('signingKeyRotationDays', ctx.tryGetContext('signingKeyRotationDays'), d.signingKeyRotationDays),
    collectionEnabled: bool('collectionEnabled', ctx.tryGetContext('collectionEnabled'), d.collectionEnabled),
    collectionIntervalHours: int('collectionIntervalHours', ctx.tryGetContext('collectionIntervalHours'), d.collectionIntervalHours),
    tracing: bool('tracing', ctx.tryGetContext('tracing'), d.tracing),
  });
  const alarmTopicArn = str('alarmTopicArn', ctx.tryGetContext('alarmTopicArn'), undefined);
  return alarmTopicArn ? { ...settings, alarmTopicArn } : settings;
}

/** Rejects combinations that would deploy but not work. */
export function validateSettings(s: BlobServerSettings): BlobServerSettings {
  if (s.stageName !== '$default' && !/^[A-Za-z0-9_-]{1,128}$/.test(s.stageName)) {
    throw new SettingsError(`stage must be $default or letters, digits, - and _, got ${JSON.stringify(s.stageName)}`);
  }
  const uploadSizeProblem = maxUploadSizeProblem(s.maxUploadSize);
  if (uploadSizeProblem) throw new SettingsError(`maxUploadSize ${uploadSizeProblem}`);
  if (s.maxBlobSize > MAX_ALLOWED_BLOB_SIZE) {
    throw new SettingsError(`maxBlobSize ${s.maxBlobSize} is more than one upload completion verifies well inside 29 s (at most ${MAX_ALLOWED_BLOB_SIZE})`);
  }
  if (!Object.values(RetentionDays).includes(s.logRetention)) {
    throw new SettingsError(`logRetentionDays ${s.logRetention} is not a CloudWatch Logs retention period`);
  }
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(s.username)) throw new SettingsError('username must be printable ASCII without ":" or spaces');
  // A key rotated out of AWSPREVIOUS stops verifying; the URLs it signed (minted up to one
  // secret-cache period after it stopped being current) must have expired by then.
  if (s.signingKeyRotationDays * 86400 < s.uploadUrlTtlSeconds + SECRET_CACHE_SECONDS) {
    throw new SettingsError(`signingKeyRotationDays must cover uploadUrlTtlSeconds + ${SECRET_CACHE_SECONDS} s`);
  }
  if (s.signingKeyRotationDays > 1000) throw new SettingsError('signingKeyRotationDays must be at most 1000 (Secrets Manager limit)');
  if (!Number.isSafeInteger(s.collectionIntervalHours) || s.collectionIntervalHours < 1 || s.collectionIntervalHours > 24 * 31) {
    throw new SettingsError('collectionIntervalHours must be a whole number of hours from 1 to 744');
  }
  return s;
}
