import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { DeleteObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { dynamoClientFor, s3ClientFor } from '../../lambda/core/aws/aws-clients.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { collect, type CollectorDeps, type CollectorSummary } from '../../lambda/core/fsck/collector.js';
import type { FsckRun } from '../../lambda/core/fsck/fsck.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { isPackKey } from '../../lambda/core/storage/object-keys.js';
import { S3BlobStore } from '../../lambda/core/storage/s3-store.js';
import { s3Folders } from '../../lambda/core/storage/s3-folders.js';
import { createLogger } from '../../lambda/core/telemetry.js';
import { type FunctionRole, PermissionLedger, permissionLane, SIDE_TOKEN_PREFIX } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { openBackendStorage, type BackendStorage } from '../support/storage.js';
import { lane } from '../support/test-server.js';

/**
 * The recovery window under the synthesized roles, on LocalStack (versioned buckets; s3rver has no
 * versions): objects deleted by a function that may delete (the write side with allowRemove, the
 * collector) stay as noncurrent versions that no role may delete, and the scheduled collection,
 * under the collector's own role, restores them and keeps their rows.
 */
const ledger = new PermissionLedger();
const L = permissionLane(lane('dynamodb-local+localstack'), ledger);

describe(`the recovery window [${L.name}]`, { skip: L.unavailable() }, () => {
  let opened: BackendStorage | undefined;
  const clients: { destroy(): void }[] = [];
  after(async () => {
    for (const c of clients) c.destroy();
    await opened?.close();
  });

  /** Clients signed as one function's role (its session token), through the lane's policy proxies. */
  const as = (role: `${FunctionRole}` | `${FunctionRole}+allowRemove`) => {
    const config = { ...opened!.config, credentials: { ...opened!.config.credentials!, sessionToken: `${SIDE_TOKEN_PREFIX}${role}` } };
    const s3 = s3ClientFor(config);
    const ddb = dynamoClientFor(config);
    clients.push(s3, ddb);
    return { s3, index: new DynamoBlobIndex(ddb, config.tableName), store: new S3BlobStore(s3, config.bucketName) };
  };
  const versionsOf = async (s3: S3Client, key: string) =>
    ((await s3.send(new ListObjectVersionsCommand({ Bucket: opened!.config.bucketName, Prefix: key }))).Versions ?? []).filter((v) => v.Key === key);

  it('objects deleted within the window: no role can destroy their versions, and the collection restores them', async () => {
    opened = await openBackendStorage(L.factory, 'blobserver-recovery-');
    const bucket = opened.config.bucketName;
    const write = as('write+allowRemove');
    const collector = as('collector');
    const log = createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
    const storage = new BlobStorage(write.index, write.store, { log });
    const big = randomBytes(1_100_000); // its own object under blobs/
    const small = [randomBytes(300), randomBytes(400)]; // small blobs stored together go in one pack
    const blobs = [big, ...small].map((bytes) => ({ ref: blobRefOf(bytes), bytes }));
    assert.deepEqual((await storage.storeVerifiedBlobs(blobs)).errors, []);
    const rows = await write.index.get(blobs.map((b) => b.ref));
    const ownKey = rows.get(blobRefOf(big))!.key;
    const packKey = rows.get(blobRefOf(small[0]!))!.key;
    assert.equal(rows.get(blobRefOf(small[1]!))!.key, packKey);
    assert.ok(isPackKey(packKey) && !isPackKey(ownKey), `${ownKey} ${packKey}`);

    // A bug or a stolen key deletes both objects, each with a role that may delete there.
    await write.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: ownKey }));
    await collector.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: packKey }));
    assert.equal(await opened.store.size(ownKey), undefined);
    assert.equal(await opened.store.size(packKey), undefined);

    // Their versions are still there, and no role may delete a version (s3:DeleteObjectVersion).
    for (const key of [ownKey, packKey]) {
      const [version] = (await versionsOf(opened.store.s3, key)).filter((v) => !v.IsLatest);
      assert.ok(version?.VersionId, `${key} kept a noncurrent version`);
      for (const role of [write, collector, as('read'), as('write')]) {
        await assert.rejects(
          role.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version.VersionId })),
          (err: Error) => err.name === 'AccessDenied',
          `a role destroyed a version of ${key}`,
        );
      }
    }

    // Those refusals were this test's own attempts: each one a DeleteObjectVersion, nothing else.
    const refused = ledger.denied.splice(0);
    assert.equal(refused.length, 8);
    for (const d of refused) assert.equal(d.action, 's3:DeleteObjectVersion');

    // One scheduled collection, piece by piece, under the collector's role.
    const deps: CollectorDeps = {
      index: collector.index,
      store: collector.store,
      options: { repair: true, graceMs: 3600_000, stagingGraceMs: 3600_000 },
      folders: (prefix) => s3Folders(collector.s3, bucket, prefix),
      depth: 0,
    };
    const plan = (await collect(deps, { action: 'plan' })) as { run: FsckRun; partitions: string[] };
    const total = { damaged: 0, rowsDeleted: 0, objectsRestored: 0 };
    const add = (s: CollectorSummary) => {
      for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
    };
    for (const prefix of plan.partitions) add((await collect(deps, { action: 'rows', run: plan.run, prefix })) as CollectorSummary);
    const { days } = (await collect(deps, { action: 'days', run: plan.run })) as { days: string[] };
    for (const day of days) add((await collect(deps, { action: 'packs', run: plan.run, day })) as CollectorSummary);
    add((await collect(deps, { action: 'finish', run: plan.run })) as CollectorSummary);

    // Three rows damaged (one object, one pack of two), two objects restored, no row deleted.
    assert.deepEqual(total, { damaged: 3, rowsDeleted: 0, objectsRestored: 2 });
    // Served again under the read function's own role.
    const read = as('read');
    const reader = new BlobStorage(read.index, read.store, { log });
    for (const b of blobs) assert.deepEqual((await reader.readBlob(b.ref))?.bytes, b.bytes, `${b.ref} is served again`);
    const used = [...(ledger.used.get(`${SIDE_TOKEN_PREFIX}collector`)?.keys() ?? [])];
    for (const action of ['s3:ListBucketVersions', 's3:GetObjectVersion', 's3:PutObject']) assert.ok(used.includes(action), `collector used ${action}`);
  });
});

reportPermissionLane(ledger, ['read', 'write', 'collector'], L.unavailable());
