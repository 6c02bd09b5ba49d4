import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DEFAULT_MAX_UPLOAD_SIZE,
  DEFAULT_RECOVERY_WINDOW_DAYS,
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
  /**
   * Days a deleted or replaced object of the blob bucket stays recoverable (a noncurrent version;
   * fsck --repair restores from it). The collector's reclaimed space is freed only after it.
   */
  recoveryWindowDays: number;
  /**
   * Reserved concurrency of each function: a ceiling on what a flood can run at once (and so on
   * the bill), and a floor the rest of the account cannot take. Off: no reservation (accounts
   * whose concurrency quota leaves less than 100 unreserved must turn it off).
   */
  reservedConcurrency: boolean;
  readConcurrency: number;
  writeConcurrency: number;
  collectorConcurrency: number;
  /** API Gateway's rate and burst for the upload routes, the expensive ones (the write side's memory, S3 PUTs). */
  uploadThrottleRateLimit: number;
  uploadThrottleBurstLimit: number;
  /** An AWS Budgets monthly cost budget for the account, in USD; undefined: none. */
  budgetMonthlyUsd?: number;
  /** Where the budget's alarms go (an e-mail subscription, confirmed from the mail AWS sends). */
  alarmEmail?: string;
  /**
   * Customer-managed KMS key for the bucket, table, secrets and log groups: 'none' (AWS-owned and
   * AWS-managed keys), 'create' (a key the stack creates, rotated yearly), or a key ARN.
   */
  kmsKey: string;
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
  recoveryWindowDays: DEFAULT_RECOVERY_WINDOW_DAYS,
  reservedConcurrency: true,
  // A personal stack: 20 read invocations at once serve pk-get/pk-put's stats at a few hundred
  // requests/s; 10 uploads at once, each up to maxUploadSize, keep a pk-put of small blobs near
  // its local speed. 8 collector pieces is the state machine's Map concurrency. Sum 38 (+1 for
  // the rotation function): an account at the default quota of 1,000 keeps 961 unreserved (AWS
  // requires at least 100).
  readConcurrency: 20,
  writeConcurrency: 10,
  collectorConcurrency: 8,
  uploadThrottleRateLimit: 50,
  uploadThrottleBurstLimit: 100,
  kmsKey: 'none',
  tracing: false,
};

/** The rotation function's reservation: one rotation at a time is all Secrets Manager runs. */
export const ROTATION_CONCURRENCY = 1;
/** AWS keeps at least this much of an account's concurrency unreserved. */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;
/** The default account concurrency quota (new accounts may get less until they have history). */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

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
    recoveryWindowDays: int('recoveryWindowDays', ctx.tryGetContext('recoveryWindowDays'), d.recoveryWindowDays),
    reservedConcurrency: bool('reservedConcurrency', ctx.tryGetContext('reservedConcurrency'), d.reservedConcurrency),
    readConcurrency: int('readConcurrency', ctx.tryGetContext('readConcurrency'), d.readConcurrency),
    writeConcurrency: int('writeConcurrency', ctx.tryGetContext('writeConcurrency'), d.writeConcurrency),
    collectorConcurrency: int('collectorConcurrency', ctx.tryGetContext('collectorConcurrency'), d.collectorConcurrency),
    uploadThrottleRateLimit: int('uploadThrottleRateLimit', ctx.tryGetContext('uploadThrottleRateLimit'), d.uploadThrottleRateLimit),
    uploadThrottleBurstLimit: int('uploadThrottleBurstLimit', ctx.tryGetContext('uploadThrottleBurstLimit'), d.uploadThrottleBurstLimit),
    kmsKey: str('kmsKey', ctx.tryGetContext('kmsKey'), d.kmsKey),
    ...optional('alarmTopicArn', str('alarmTopicArn', ctx.tryGetContext('alarmTopicArn'), undefined)),
    ...optional('budgetMonthlyUsd', optionalInt('budgetMonthlyUsd', ctx.tryGetContext('budgetMonthlyUsd'))),
    ...optional('alarmEmail', str('alarmEmail', ctx.tryGetContext('alarmEmail'), undefined)),
    tracing: bool('tracing', ctx.tryGetContext('tracing'), d.tracing),
  });
  return settings;
}

function optionalInt(key: string, raw: unknown): number | undefined {
  return raw === undefined || raw === '' ? undefined : int(key, raw, 0);
}

/** `{ key: value }`, or nothing when value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [k in K]: V });
}

/** A KMS key ARN (a key, not an alias: grants and key policies name keys). */
export const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;

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
  // S3 lifecycle's NoncurrentDays: at least 1; more than ten years is no longer a window.
  if (!Number.isSafeInteger(s.recoveryWindowDays) || s.recoveryWindowDays < 1 || s.recoveryWindowDays > 3650) {
    throw new SettingsError('recoveryWindowDays must be a whole number of days from 1 to 3650');
  }
  if (s.reservedConcurrency) {
    const reserved = s.readConcurrency + s.writeConcurrency + s.collectorConcurrency + ROTATION_CONCURRENCY;
    if (reserved > DEFAULT_ACCOUNT_CONCURRENCY - UNRESERVED_CONCURRENCY_MINIMUM) {
      throw new SettingsError(
        `reserved concurrency ${reserved} would leave less than ${UNRESERVED_CONCURRENCY_MINIMUM} of a ${DEFAULT_ACCOUNT_CONCURRENCY} quota unreserved; lower it or set reservedConcurrency=false`,
      );
    }
  }
  if (s.budgetMonthlyUsd !== undefined && !s.alarmEmail && !s.alarmTopicArn) {
    throw new SettingsError('budgetMonthlyUsd needs alarmEmail (or alarmTopicArn) to tell someone');
  }
  if (s.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s.alarmEmail)) {
    throw new SettingsError(`alarmEmail must be an e-mail address, got ${JSON.stringify(s.alarmEmail)}`);
  }
  if (s.kmsKey !== 'none' && s.kmsKey !== 'create' && !KMS_KEY_ARN.test(s.kmsKey)) {
    throw new SettingsError(`kmsKey must be none, create or a KMS key ARN (arn:aws:kms:region:account:key/id), got ${JSON.stringify(s.kmsKey)}`);
  }
  return s;
}
