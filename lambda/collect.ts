import { DynamoBlobIndex } from './core/storage/dynamodb-index.js';
import { S3BlobStore } from './core/storage/s3-store.js';
import { collect, type CollectorDeps, type CollectorEvent } from './core/fsck/collector.js';
import { readConfig } from './core/config.js';
import { dynamoClientFor, s3ClientFor } from './core/aws/aws-clients.js';
import { DEFAULT_FSCK_GRACE_MS } from './core/limits.js';
import { s3Folders } from './core/storage/s3-folders.js';
import { namespacesIn, namespaceStorage } from './core/storage/namespaces.js';
import { createLogger, createMetrics, loadTracer } from './core/telemetry.js';

/**
 * The collector function (lambda/core/fsck/collector.ts): one piece of a scheduled fsck --repair per
 * invocation, started by the collection state machine. Configured like the other functions
 * (BLOBSERVER_TABLE, BLOBSERVER_BUCKET, the URL lifetime and completion grace for staging),
 * plus BLOBSERVER_FSCK_GRACE_SECONDS.
 */
let deps: CollectorDeps | undefined;

function build(config = readConfig()): CollectorDeps {
  const s3 = s3ClientFor(config);
  const grace = process.env['BLOBSERVER_FSCK_GRACE_SECONDS'];
  const ddb = dynamoClientFor(config);
  const log = createLogger(config.telemetry);
  const objects = new S3BlobStore(s3, config.bucketName);
  return {
    index: new DynamoBlobIndex(ddb, config.tableName, log),
    store: objects,
    // Every namespace the bucket holds (DESIGN §12), each piece on one namespace's rows and objects.
    namespaces: {
      list: () => namespacesIn(s3, config.bucketName),
      storage: (ns) => namespaceStorage({ ddb, s3, table: config.tableName, bucket: config.bucketName, log }, objects, ns),
    },
    options: {
      repair: true,
      graceMs: grace ? Number(grace) * 1000 : DEFAULT_FSCK_GRACE_MS,
      stagingGraceMs: (config.uploadUrlTtlSeconds + config.completionGraceSeconds) * 1000,
    },
    folders: (prefix) => s3Folders(s3, config.bucketName, prefix),
    metrics: createMetrics(config.telemetry),
  };
}

export async function handler(event: CollectorEvent) {
  if (!deps) {
    const config = readConfig();
    await loadTracer(config.telemetry);
    deps = build(config);
  }
  return collect(deps, event);
}
