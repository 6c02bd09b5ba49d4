import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { dynamoClientFor, s3ClientFor } from '../../lambda/core/aws/aws-clients.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import type { Config } from '../../lambda/core/config.js';
import { type AwsCallBounds, ROW_WRITE_WINDOW_MS, worstCaseCallMs } from '../../lambda/core/limits.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { ensureBucket, ensureTable, tableExists } from '../../lambda/core/storage/provision.js';
import { S3BlobStore } from '../../lambda/core/storage/s3-store.js';
import { createLogger } from '../../lambda/core/telemetry.js';
import { DYNAMODB_FAILURE, startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import { type Backend, dynaliteBackend } from '../support/backends.js';
import { emulatorConfig } from '../support/storage.js';

/**
 * The SDK clients as aws-clients.ts builds them, against real emulators behind a proxy that
 * can hold requests (accept them and never answer): every call fails within its bound
 * (limits.ts, AwsCallBounds; shortened here so the test takes seconds, the mechanism is the
 * same), no row is written once its window has passed, and concurrent sends never share
 * request state.
 */

const log = createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
/** The test's bounds: 1 s per attempt, 3 attempts. */
const BOUNDS: AwsCallBounds = { connectTimeoutMs: 500, requestTimeoutMs: 1_000, maxAttempts: 3 };
/** What a busy machine may add to a bound (timers firing late). */
const SLACK_MS = 1_500;
/** A call that hangs (as every one did before the bounds) fails its test instead of the run. */
const HANG = { timeout: 30_000 };

describe('AWS SDK clients (aws-clients.ts) on dynalite + s3rver', () => {
  let dir: string;
  let backend: Backend;
  let config: Config;
  let ddbProxy: AwsProxy;
  let s3Proxy: AwsProxy;
  /** The clients the code under test uses: through the proxies, with the test's bounds. */
  let index: DynamoBlobIndex;
  let store: S3BlobStore;
  /** Direct clients, to look at what landed. */
  let directIndex: DynamoBlobIndex;
  let directS3: S3Client;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aws-clients-'));
    backend = await dynaliteBackend(dir);
    config = emulatorConfig(backend.env);
    ddbProxy = await startAwsProxy(config.endpoints.dynamodb!);
    s3Proxy = await startAwsProxy(config.endpoints.s3!);
    directS3 = s3ClientFor(config);
    const directDdb = dynamoClientFor(config);
    await Promise.all([ensureTable(directDdb, config.tableName), ensureBucket(directS3, config.bucketName), ensureBucket(directS3, 'second-bucket')]);
    directIndex = new DynamoBlobIndex(directDdb, config.tableName);
    const proxied = { ...config, endpoints: { ...config.endpoints, dynamodb: ddbProxy.endpoint, s3: s3Proxy.endpoint } };
    index = new DynamoBlobIndex(dynamoClientFor(proxied, BOUNDS), config.tableName, log);
    store = new S3BlobStore(s3ClientFor(proxied, proxied.endpoints.s3, BOUNDS), config.bucketName);
  });

  after(async () => {
    await ddbProxy?.close();
    await s3Proxy?.close();
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const newBlob = () => {
    const bytes = randomBytes(1000);
    return { ref: blobRefOf(bytes), bytes };
  };

  /** A row write: BatchWriteItem (BlobIndex.put) or PutItem (an upload's conditional row creation). */
  const isRowWrite = (r: { operation?: string | undefined }) => r.operation === 'BatchWriteItem' || r.operation === 'PutItem';

  async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const t0 = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - t0 };
  }

  it('a DynamoDB row write that is never answered fails within its bound, after its attempts, and never lands', HANG, async () => {
    const blob = newBlob();
    ddbProxy.setHold((r) => r.operation === 'BatchWriteItem');
    const seen = ddbProxy.requests.length;
    try {
      const row = { blobRef: blob.ref, size: 1000, key: `blobs/${blob.ref}/x`, storedAt: new Date().toISOString() };
      const { value: failed, ms } = await timed(() => index.put([row]));
      assert.deepEqual(failed, [blob.ref], 'the row is reported not written');
      assert.ok(ms >= BOUNDS.requestTimeoutMs, `it waited for its attempt (${ms} ms)`);
      assert.ok(ms <= worstCaseCallMs(BOUNDS) + SLACK_MS, `it gave up within its bound (${ms} ms)`);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(ddbProxy.requests.length - seen, BOUNDS.maxAttempts, 'one request per attempt, none after the call failed');
      assert.equal((await directIndex.get([blob.ref])).size, 0, 'no row landed');
    } finally {
      ddbProxy.setHold(undefined);
    }
  });

  it('an upload whose row write is never answered is not acknowledged, within the bound', HANG, async () => {
    const blob = newBlob();
    // An upload writes its new blobs' rows in a BatchWriteItem, under the row-creation lock (blob-writes.ts).
    ddbProxy.setHold((r) => r.operation === 'BatchWriteItem');
    try {
      const storage = new BlobStorage(index, store, { log });
      const { value: out, ms } = await timed(() => storage.storeVerifiedBlobs([blob]));
      assert.deepEqual(out.received, []);
      assert.equal(out.errors.length, 1);
      assert.ok(ms <= worstCaseCallMs(BOUNDS) + SLACK_MS, `the upload answered within the row write's bound (${ms} ms)`);
      assert.equal((await directIndex.get([blob.ref])).size, 0, 'no row landed');
    } finally {
      ddbProxy.setHold(undefined);
    }
  });

  it('an S3 PutObject that is never answered fails within its bound, and no row is written', HANG, async () => {
    const blob = newBlob();
    s3Proxy.setHold((r) => r.method === 'PUT');
    const rowWrites = ddbProxy.requests.filter(isRowWrite).length;
    try {
      const storage = new BlobStorage(index, store, { log });
      const { value: out, ms } = await timed(() => storage.storeVerifiedBlobs([blob]));
      assert.deepEqual(out.received, []);
      assert.ok(ms >= BOUNDS.requestTimeoutMs * BOUNDS.maxAttempts, `every attempt was waited for (${ms} ms)`);
      assert.ok(ms <= worstCaseCallMs(BOUNDS) + SLACK_MS, `it gave up within its bound (${ms} ms)`);
      assert.equal(ddbProxy.requests.filter(isRowWrite).length, rowWrites, 'no row write was sent');
      assert.equal((await directIndex.get([blob.ref])).size, 0);
    } finally {
      s3Proxy.setHold(undefined);
    }
  });

  it('when a slow PutObject outlasts the row write window, the row is not sent and the upload is not acknowledged', HANG, async () => {
    const blob = newBlob();
    // The first attempt is swallowed; the SDK's retry (after its 1 s timeout) goes through,
    // by which time the window of the row (stored 300 ms before it closes) has passed.
    let swallowed = 0;
    s3Proxy.setHold((r) => r.method === 'PUT' && swallowed++ === 0);
    const rowWrites = ddbProxy.requests.filter(isRowWrite).length;
    try {
      const storage = new BlobStorage(index, store, { log, now: () => new Date(Date.now() - ROW_WRITE_WINDOW_MS + 300) });
      const { value: out, ms } = await timed(() => storage.storeVerifiedBlobs([blob]));
      assert.ok(ms <= worstCaseCallMs(BOUNDS) + SLACK_MS, `answered within the bound (${ms} ms)`);
      assert.deepEqual(out.received, [], 'not acknowledged');
      assert.equal(s3Proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes(blob.ref)).length, 2, 'the retried PutObject went through');
      assert.equal(ddbProxy.requests.filter(isRowWrite).length, rowWrites, 'no row write was sent past the window');
      assert.equal((await directIndex.get([blob.ref])).size, 0, 'no row landed');
    } finally {
      s3Proxy.setHold(undefined);
    }
  });

  it('a CreateTable carried out whose answer was lost (its retry finds the table there) still provisions the table', HANG, async () => {
    // What a loaded machine did to npm start on DynamoDB Local: the first attempt created the
    // table but its answer came too late, and the retry was refused ResourceInUseException.
    const table = `provisioned-${Date.now()}`;
    let lost = 0;
    ddbProxy.setAnswer((r, upstream) => (r.operation === 'CreateTable' && upstream === 200 && lost++ === 0 ? DYNAMODB_FAILURE : undefined));
    try {
      const ddb = dynamoClientFor({ ...config, endpoints: { ...config.endpoints, dynamodb: ddbProxy.endpoint } }, BOUNDS);
      await ensureTable(ddb, table);
      assert.equal(lost, 1, 'the first answer was lost');
      assert.equal(ddbProxy.requests.filter((r) => r.operation === 'CreateTable').length, 2, 'and the retry reached the emulator');
      assert.equal(await tableExists(ddb, table), true);
      ddb.destroy();
    } finally {
      ddbProxy.setAnswer(undefined);
    }
  });

  it('concurrent PutObjects to two buckets through one client each land in the bucket they were sent to', HANG, async () => {
    const s3 = s3ClientFor(config);
    const buckets = [config.bucketName, 'second-bucket'];
    const prefix = `concurrent-${Date.now()}/`;
    const keys = Array.from({ length: 48 }, (_, i) => ({ bucket: buckets[i % 2]!, key: `${prefix}${i}` }));
    await Promise.all(keys.map(({ bucket, key }) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(key) }))));
    for (const bucket of buckets) {
      const listed = await directS3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }));
      const got = (listed.Contents ?? []).map((o) => o.Key!).sort();
      const sent = keys
        .filter((k) => k.bucket === bucket)
        .map((k) => k.key)
        .sort();
      assert.deepEqual(got, sent, `${bucket} holds exactly the objects sent to it`);
    }
    s3.destroy();
  });
});
