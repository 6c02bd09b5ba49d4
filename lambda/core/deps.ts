import { dynamoClientFor, s3ClientFor } from './aws/aws-clients.js';
import { DynamoBlobIndex } from './storage/dynamodb-index.js';
import { BlobStorage } from './storage/blob-storage.js';
import { S3BlobStore } from './storage/s3-store.js';
import type { Config } from './config.js';
import { credentialsSource, type CredentialsSource } from './auth/credentials-source.js';
import { PACK_THRESHOLD } from './limits.js';
import { keyringLoader, type KeyringLoader } from './auth/keyring-source.js';
import { SecretReader } from './auth/secrets.js';
import { storageGenerationSource, type StorageGenerationSource } from './storage/storage-generation.js';
import { StagingArea } from './upload/staging.js';
import { builtInUiPage } from './http/ui-page.js';
import { createLogger, createMetrics, type Logger, type Metrics } from './telemetry.js';

/**
 * Dependency wiring: everything a handler needs, built from the config once per cold start (or
 * once by the local server). Clients come from aws-clients.ts, credentials from credentials-source.ts.
 */
export interface Deps {
  settings: Pick<Config, 'uploadUrlTtlSeconds' | 'completionGraceSeconds' | 'maxUploadSize' | 'maxBlobSize' | 'allowRemove' | 'maxInlineGetSize'>;
  /** Rows and objects, combined by the one module that owns their write order. */
  storage: BlobStorage;
  /** Large-blob uploads (presigned POST) before they are verified. */
  staging: StagingArea;
  keyring: KeyringLoader;
  /** The store's generation for discovery (Perkeep clients key their have-cache by it). */
  storageGeneration: StorageGenerationSource;
  /** The HTTP Basic credentials callers must present; undefined means open (local loopback only). */
  credentials: CredentialsSource;
  nowSeconds: () => number;
  log: Logger;
  /** Request and upload metrics; undefined when metrics are disabled. */
  metrics?: Metrics | undefined;
  /** The HTML of the page at /ui/ (ui-page.ts). */
  uiPage: () => Promise<string>;
}

export function createDeps(config: Config, overrides: Partial<Deps> = {}): Deps {
  const secrets = new SecretReader(config);
  const s3 = s3ClientFor(config);
  const presigner = config.endpoints.s3Public ? s3ClientFor(config, config.endpoints.s3Public) : undefined;
  const log = createLogger(config.telemetry);
  return {
    settings: {
      uploadUrlTtlSeconds: config.uploadUrlTtlSeconds,
      completionGraceSeconds: config.completionGraceSeconds,
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
    credentials: credentialsSource(config.auth, secrets),
    nowSeconds: () => Date.now() / 1000,
    log,
    metrics: createMetrics(config.telemetry),
    uiPage: builtInUiPage,
    ...overrides,
  };
}
