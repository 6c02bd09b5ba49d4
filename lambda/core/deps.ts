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
import { createLogger, createMetrics, type Logger, type Metrics } from './telemetry.js';
import { ROOT_NAMESPACE, type Namespace } from './namespace.js';
import { storeForNamespace } from './storage/namespaced-store.js';
import { DynamoCredentialRows, type CredentialRows } from './storage/credential-rows.js';
import { CredentialCache } from './auth/credential-cache.js';
import { DynamoUsageTable } from './storage/dynamodb-usage.js';
import { DynamoCreationLocks } from './storage/dynamodb-creation-lock.js';
import type { UsageTable } from './storage/usage.js';

/**
 * Dependency wiring: everything a handler needs, built from the config once per cold start (or
 * once by the local server). Clients come from aws-clients.ts, credentials from credentials-source.ts.
 */
export interface Deps {
  /** The namespace these deps serve (DESIGN §12); storage, storageGeneration and minted URLs are its own. */
  namespace: Namespace;
  /** The same deps for another namespace (built once per namespace and instance, see NAMESPACE_CACHE). */
  forNamespace: (ns: Namespace) => Deps;
  settings: Pick<Config, 'uploadUrlTtlSeconds' | 'completionGraceSeconds' | 'maxUploadSize' | 'maxBlobSize' | 'allowRemove' | 'maxInlineGetSize'>;
  /** Rows and objects, combined by the one module that owns their write order. */
  storage: BlobStorage;
  /** Every namespace's usage and limits (the admin routes); a namespace's own is `storage.usage`. */
  usageTable: UsageTable;
  /** Large-blob uploads (presigned POST) before they are verified. */
  staging: StagingArea;
  keyring: KeyringLoader;
  /** The store's generation for discovery (Perkeep clients key their have-cache by it). */
  storageGeneration: StorageGenerationSource;
  /** The owner's HTTP Basic credentials (admin over everything); undefined means open (local loopback only). */
  credentials: CredentialsSource;
  /** The stored credentials (docs/security.md): rows of the index table, for the admin routes. */
  credentialRows: CredentialRows;
  /** The same, read through the cache whose lifetime is the revocation bound: what every request's check uses. */
  callers: CredentialCache;
  nowSeconds: () => number;
  log: Logger;
  /** Request and upload metrics; undefined when metrics are disabled. */
  metrics?: Metrics | undefined;
  /** The HTML of the page at /ui/ (ui-page.ts). */
  uiPage: () => Promise<string>;
}

/** How many namespaces' deps one instance keeps (each holds its generation); past it the cache starts again. */
const NAMESPACE_CACHE = 256;

/**
 * Deps for every namespace from one root: what differs per namespace is only storage (its rows
 * and objects) and its generation; clients, secrets, keys and settings are shared. The root
 * namespace's deps are `root` itself.
 */
export function withNamespaces(root: Omit<Deps, 'namespace' | 'forNamespace'>, scoped: (ns: Namespace) => Pick<Deps, 'storage' | 'storageGeneration'>): Deps {
  const cache = new Map<string, Deps>();
  const forNamespace = (ns: Namespace): Deps => {
    if (!ns.name) return rootDeps;
    let deps = cache.get(ns.name);
    if (!deps) {
      if (cache.size >= NAMESPACE_CACHE) cache.clear();
      deps = { ...rootDeps, ...scoped(ns), namespace: ns };
      cache.set(ns.name, deps);
    }
    return deps;
  };
  const rootDeps: Deps = { ...root, namespace: ROOT_NAMESPACE, forNamespace };
  return rootDeps;
}

export function createDeps(config: Config, overrides: Partial<Omit<Deps, 'namespace' | 'forNamespace'>> = {}): Deps {
  const secrets = new SecretReader(config);
  const s3 = s3ClientFor(config);
  const ddb = dynamoClientFor(config);
  const presigner = config.endpoints.s3Public ? s3ClientFor(config, config.endpoints.s3Public) : undefined;
  const log = createLogger(config.telemetry);
  const objects = new S3BlobStore(s3, config.bucketName, presigner);
  // A packed blob can only be served inline, so nothing above the inline GET limit is packed.
  const storageOptions = { log, packThreshold: Math.min(PACK_THRESHOLD, config.maxInlineGetSize) };
  const usageTable = new DynamoUsageTable(ddb, config.tableName);
  const creationLocks = new DynamoCreationLocks(ddb, config.tableName, config.creationLockHolder);
  const scoped = (ns: Namespace) => ({
    storage: new BlobStorage(new DynamoBlobIndex(ddb, config.tableName, log, ns), storeForNamespace(objects, ns), {
      ...storageOptions,
      usage: usageTable.ledger(ns),
      creation: creationLocks.for(ns),
      rememberAbsence: config.rememberAbsence,
    }),
    storageGeneration: storageGenerationSource(s3, config.bucketName, undefined, ns),
  });
  const nowSeconds = overrides.nowSeconds ?? (() => Date.now() / 1000);
  const credentialRows = overrides.credentialRows ?? new DynamoCredentialRows(ddb, config.tableName);
  const base = {
    credentialRows,
    callers: new CredentialCache((id) => credentialRows.get(id), nowSeconds, config.credentialCacheSeconds),
    settings: {
      uploadUrlTtlSeconds: config.uploadUrlTtlSeconds,
      completionGraceSeconds: config.completionGraceSeconds,
      maxUploadSize: config.maxUploadSize,
      maxBlobSize: config.maxBlobSize,
      allowRemove: config.allowRemove,
      maxInlineGetSize: config.maxInlineGetSize,
    },
    ...scoped(ROOT_NAMESPACE),
    usageTable,
    staging: new StagingArea(s3, config.bucketName, presigner),
    keyring: keyringLoader(config.signingKeys, secrets),
    credentials: credentialsSource(config.auth, secrets),
    nowSeconds,
    log,
    metrics: createMetrics(config.telemetry),
    // Loaded on the first GET /ui only: the page is a large string, in its own chunk of the read bundle.
    uiPage: () => import('./http/ui-page.js').then((m) => m.builtInUiPage()),
    ...overrides,
  };
  // Storage supplied from outside (tests) has no namespaces: asking for one is a bug, never a shared store.
  const noNamespaces = () => {
    throw new Error('these deps were given one storage: they serve the root namespace only');
  };
  return withNamespaces(base, overrides.storage ? noNamespaces : scoped);
}
