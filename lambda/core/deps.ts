import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Credentials } from './auth.js';
import { DynamoBlobIndex } from './blob-index.js';
import { BlobStorage } from './blob-storage.js';
import { S3BlobStore } from './blob-store.js';
import { parseUserPass, type Config } from './config.js';
import { DYNAMODB_REQUEST_TIMEOUT_MS, PACK_THRESHOLD } from './limits.js';
import { keyringLoader, type KeyringLoader } from './keyring-source.js';
import { SecretReader } from './secrets.js';
import { storageGenerationSource, type StorageGenerationSource } from './storage-generation.js';
import { StagingArea } from './staging.js';
import { createLogger, createMetrics, type Logger, type Metrics } from './telemetry.js';

/** Everything a handler needs, built once per cold start (or once by the local server). */
export interface Deps {
  settings: Pick<Config, 'uploadUrlTtlSeconds' | 'maxUploadSize' | 'maxBlobSize' | 'allowRemove' | 'maxInlineGetSize'>;
  /** Rows and objects, combined by the one module that owns their write order. */
  storage: BlobStorage;
  /** Large-blob uploads (presigned POST) before they are verified. */
  staging: StagingArea;
  keyring: KeyringLoader;
  /** The store's generation for discovery (Perkeep clients key their have-cache by it). */
  storageGeneration: StorageGenerationSource;
  /** The HTTP Basic credentials callers must present; undefined means open (local loopback only). */
  credentials: () => Promise<Credentials | undefined>;
  nowSeconds: () => number;
  log: Logger;
  /** Request and upload metrics; undefined when metrics are disabled. */
  metrics?: Metrics;
}

export function s3ClientFor(config: Config, endpoint = config.endpoints.s3): S3Client {
  return new S3Client({
    region: config.region,
    endpoint,
    forcePathStyle: config.s3ForcePathStyle,
    credentials: config.credentials,
    // We verify every blob's digest ourselves; SDK-side flexible checksums (aws-chunked
    // trailers) add nothing and are not understood by S3 emulators.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function dynamoClientFor(config: Config): DynamoDBClient {
  return new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoints.dynamodb,
    credentials: config.credentials,
    // Bounds how late a retried row write can land (REMOVE_OBJECT_MIN_AGE_MS relies on it).
    requestHandler: { requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS },
  });
}

export function createDeps(config: Config, overrides: Partial<Deps> = {}): Deps {
  const secrets = new SecretReader(config);
  const auth = config.auth;
  const s3 = s3ClientFor(config);
  const presigner = config.endpoints.s3Public ? s3ClientFor(config, config.endpoints.s3Public) : undefined;
  const credentials = async (): Promise<Credentials | undefined> => {
    if (auth.kind === 'none') return undefined;
    if (auth.kind === 'userpass') return { username: auth.username, password: auth.password };
    const raw = await secrets.read(auth.secretId, 'AWSCURRENT');
    if (!raw) throw new Error('credentials secret is empty');
    // The secret is either {"username","password"} JSON (what CDK generates) or userpass:U:P.
    return raw.startsWith('userpass:') ? parseUserPass(raw) : (JSON.parse(raw) as Credentials);
  };
  const log = createLogger(config.telemetry);
  return {
    settings: {
      uploadUrlTtlSeconds: config.uploadUrlTtlSeconds,
      maxUploadSize: config.maxUploadSize,
      maxBlobSize: config.maxBlobSize,
      allowRemove: config.allowRemove,
      maxInlineGetSize: config.maxInlineGetSize,
    },
    storage: new BlobStorage(
      new DynamoBlobIndex(dynamoClientFor(config), config.tableName, log),
      new S3BlobStore(s3, config.bucketName, presigner),
      // A packed blob can only be served inline, so nothing above the inline GET limit is packed.
      { log, packThreshold: Math.min(PACK_THRESHOLD, config.maxInlineGetSize) },
    ),
    staging: new StagingArea(s3, config.bucketName, presigner),
    keyring: keyringLoader(config.signingKeys, secrets),
    storageGeneration: storageGenerationSource(s3, config.bucketName),
    credentials,
    nowSeconds: () => Date.now() / 1000,
    log,
    metrics: createMetrics(config.telemetry),
    ...overrides,
  };
}
