import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import {
  auditPartition,
  emptyReport,
  finishRun,
  fsck,
  mergeReport,
  newFsckRun,
  packDays,
  rowPartitions,
  type FsckReport,
} from '../../lambda/core/fsck/fsck.js';
import { shardOf, SHARDS } from '../../lambda/core/storage/index-schema.js';
import { MemoryBlobIndex, MemoryBlobStore } from '../../lambda/core/storage/memory-storage.js';
import { newBlobKey, FSCK_RUNS_PREFIX } from '../../lambda/core/storage/object-keys.js';
import { createLogger } from '../../lambda/core/telemetry.js';
import { buildFsckScenario } from '../support/fsck-scenario.js';

/** fsck partitioned by index shard and object prefix: the same findings, a page of rows at a time. */
const log = createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
const later = () => new Date(Date.now() + 2 * 3600_000);
const blob = (size: number) => {
  const bytes = randomBytes(size);
  return { ref: blobRefOf(bytes), bytes };
};
/** `n` blobs whose refs all fall in one shard, in ref order. */
function blobsInOneShard(n: number): { ref: string; bytes: Buffer }[] {
  const byShard = new Map<string, { ref: string; bytes: Buffer }[]>();
  for (;;) {
    const b = blob(64);
    const list = byShard.get(shardOf(b.ref)) ?? [];
    byShard.set(shardOf(b.ref), list);
    list.push(b);
    if (list.length === n) return list.sort((x, y) => (x.ref < y.ref ? -1 : 1));
  }
}
const sortedFindings = (r: FsckReport) => r.findings.map((f) => `${f.kind} ${f.key} ${f.ref ?? ''} ${f.bytes ?? ''}`).sort();

describe('fsck partitions', () => {
  it('partitions: the 32 index shards (or 512 finer ref prefixes), and the days that have packs', async () => {
    assert.deepEqual(rowPartitions(), [...SHARDS]);
    assert.equal(SHARDS.length, 32);
    const fine = rowPartitions(1);
    assert.equal(fine.length, 512);
    assert.ok(fine.every((p) => SHARDS.includes(p.slice(0, -1))));
    const store = new MemoryBlobStore();
    for (const k of ['packs/2026-01-02/a', 'packs/2026-01-02/b', 'packs/2025-12-31/c', 'blobs/x/y']) await store.create(k, Buffer.from('x'));
    assert.deepEqual(await packDays(store), ['2025-12-31', '2026-01-02']);
  });

  it('partition by partition, with pages of 3 rows, finds exactly what one pass finds, and leaves no scratch behind', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const s = await buildFsckScenario(index, store);
    const storage = new BlobStorage(index, store, { log });
    // Enough blobs that shards span several pages, some packed (pack rows cross to the day partition).
    for (let i = 0; i < 5; i++) assert.deepEqual((await storage.storeVerifiedBlobs([blob(50), blob(60), blob(70), blob(1_100_000)])).errors, []);
    const whole = await fsck(index, store, { verify: true });
    const paged = await fsck(index, store, { verify: true, pageSize: 3 });
    assert.deepEqual(sortedFindings(paged), sortedFindings(whole));
    assert.equal(paged.rows, whole.rows);
    assert.equal(paged.objects, whole.objects);
    assert.equal(paged.damaged, s.damaged.size);

    // The same, one piece at a time as the collector runs them, each from a fresh Audit.
    const run = newFsckRun();
    const total = emptyReport();
    for (const prefix of rowPartitions(1)) mergeReport(total, await auditPartition(index, store, run, { kind: 'rows', prefix }, { verify: true, pageSize: 2 }));
    assert.ok(
      [...store.objects.keys()].some((k) => k.startsWith(FSCK_RUNS_PREFIX)),
      'pack rows were not handed over through scratch objects',
    );
    for (const day of await packDays(store)) mergeReport(total, await auditPartition(index, store, run, { kind: 'packs', day }, { verify: true }));
    mergeReport(total, await auditPartition(index, store, run, { kind: 'staging' }));
    await finishRun(store, run);
    assert.deepEqual(sortedFindings(total), sortedFindings(whole));
    assert.equal(total.rows, whole.rows);
    assert.ok(![...store.objects.keys()].some((k) => k.startsWith(FSCK_RUNS_PREFIX)), 'scratch objects were left behind');
  });

  it('a row written after its object was listed is not damage (a HEAD confirms), and its object is kept', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const storage = new BlobStorage(index, store, { log });
    const [first, second, third, late] = blobsInOneShard(4);
    assert.ok(first && second && third && late);
    // One blob a request: each gets its own object (not a pack).
    for (const b of [first, second, third]) assert.deepEqual((await storage.storeVerifiedBlobs([b])).errors, []);
    // After the first page of rows (and so after the listing began), the late blob is uploaded.
    const list = index.list.bind(index);
    let calls = 0;
    index.list = async (after, count) => {
      if (++calls === 2) {
        const key = newBlobKey(late.ref);
        await store.create(key, late.bytes);
        await index.put([{ blobRef: late.ref, size: late.bytes.length, key, storedAt: new Date().toISOString() }]);
      }
      return list(after, count);
    };
    const report = await auditPartition(index, store, newFsckRun(later()), { kind: 'rows', prefix: shardOf(late.ref) }, { repair: true, pageSize: 1 });
    assert.equal(report.damaged, 0, JSON.stringify(report.findings));
    assert.ok((await index.get([late.ref])).has(late.ref));
    assert.equal(await store.size((await index.get([late.ref])).get(late.ref)!.key), late.bytes.length);
  });

  it('one process shares one blobs/ listing across its partitions, and reports objects outside every shard too', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const storage = new BlobStorage(index, store, { log });
    const kept = [blob(10), blob(20), blob(30)];
    for (const b of kept) assert.deepEqual((await storage.storeVerifiedBlobs([b])).errors, []);
    for (const k of ['blobs/0-stray/x', 'blobs/zzz/y']) await store.create(k, Buffer.alloc(5));
    let lists = 0;
    const list = store.list.bind(store);
    store.list = (prefix) => {
      if (prefix.startsWith('blobs/')) lists++;
      return list(prefix);
    };
    const report = await fsck(index, store, { repair: true, now: later });
    assert.equal(lists, 1);
    assert.deepEqual(report.findings.map((f) => [f.kind, f.key]).sort(), [
      ['unreferenced-object', 'blobs/0-stray/x'],
      ['unreferenced-object', 'blobs/zzz/y'],
    ]);
    assert.equal(report.repaired.objectsDeleted, 2);
    for (const b of kept) assert.deepEqual((await storage.readBlob(b.ref))?.bytes, b.bytes);
  });

  it('stale staged uploads are collected only past the staging grace; young ones stay', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    await store.create('staging/0123/sha224-abc', Buffer.alloc(10));
    const young = await auditPartition(index, store, newFsckRun(), { kind: 'staging' }, { repair: true, graceMs: 0, stagingGraceMs: 3600_000 });
    assert.deepEqual(young.findings, []);
    assert.equal(await store.size('staging/0123/sha224-abc'), 10);
    const old = await auditPartition(
      index,
      store,
      newFsckRun(new Date(Date.now() + 3 * 3600_000)),
      { kind: 'staging' },
      { repair: true, stagingGraceMs: 3600_000 },
    );
    assert.deepEqual(
      old.findings.map((f) => [f.kind, f.key, f.bytes]),
      [['stale-staged-upload', 'staging/0123/sha224-abc', 10]],
    );
    assert.equal(old.repaired.objectsDeleted, 1);
    assert.equal(await store.size('staging/0123/sha224-abc'), undefined);
  });
});
