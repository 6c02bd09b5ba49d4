import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { auditUsage, USAGE_QUIET_MS } from '../../lambda/core/fsck/usage-audit.js';
import { DYNAMODB_CALL_BOUNDS, ROW_WRITE_WINDOW_MS, worstCaseCallMs } from '../../lambda/core/limits.js';
import { QuotaExceeded } from '../../lambda/core/storage/blob-adoption.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { MemoryBlobIndex, MemoryBlobStore } from '../../lambda/core/storage/memory-storage.js';
import type { BlobRow } from '../../lambda/core/storage/storage-api.js';
import { exceedsLimits, MemoryUsageLedger } from '../../lambda/core/storage/usage.js';
import { createLogger } from '../../lambda/core/telemetry.js';

/**
 * Usage and quotas in the storage model (blob-storage.ts rule 6, docs/storage-model.md "Usage and
 * quotas"), in memory, with the orders that matter forced by barriers: the counter counts each
 * row once, an upload over quota stores nothing, concurrent uploads never pass the quota, and
 * fsck's recount repairs a counter left high by a crash.
 */
const log = createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
const blob = (size = 100) => {
  const bytes = randomBytes(size);
  return { ref: blobRefOf(bytes), bytes };
};

/** A gate: `wait()` resolves once `open()` was called; `arrived` counts waiters. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const g = {
    arrived: 0,
    open,
    wait: async () => {
      g.arrived++;
      await opened;
    },
  };
  return g;
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setImmediate(r));
};

function setup() {
  const index = new MemoryBlobIndex();
  const store = new MemoryBlobStore();
  const usage = new MemoryUsageLedger();
  const storage = new BlobStorage(index, store, { log, usage });
  const truth = () => {
    const rows = [...index.rows.values()];
    return { bytes: rows.reduce((n, r) => n + r.size, 0), blobs: rows.length };
  };
  const counted = () => ({ bytes: usage.usage.bytes, blobs: usage.usage.blobs });
  return { index, store, usage, storage, truth, counted };
}

describe('usage and quotas in the storage model', () => {
  it('counts new blobs; a blob already present costs nothing; a blob twice in one request counts once', async () => {
    const t = setup();
    const [a, b] = [blob(100), blob(200)];
    assert.equal((await t.storage.storeVerifiedBlobs([a, b, a])).received.length, 2);
    assert.deepEqual(t.counted(), { bytes: 300, blobs: 2 });
    assert.equal((await t.storage.storeVerifiedBlobs([a, b])).received.length, 2);
    assert.deepEqual(t.counted(), { bytes: 300, blobs: 2 });
    assert.deepEqual(t.counted(), t.truth());
  });

  it('an upload that would pass a limit stores nothing (no object, no row) and reserves nothing', async () => {
    const t = setup();
    await t.usage.setLimits({ maxBytes: 250 });
    await t.storage.storeVerifiedBlobs([blob(200)]);
    const objects = t.store.objects.size;
    const over = await t.storage.storeVerifiedBlobs([blob(30), blob(30)]);
    assert.ok(over.overQuota, 'not refused');
    assert.deepEqual(over.received, []);
    assert.deepEqual(over.overQuota.wanted, { bytes: 60, blobs: 2 });
    assert.equal(t.store.objects.size, objects, 'an object was written');
    assert.equal(t.index.rows.size, 1);
    assert.deepEqual(t.counted(), { bytes: 200, blobs: 1 });
    // What fits still goes in, up to the limit exactly.
    assert.equal((await t.storage.storeVerifiedBlobs([blob(50)])).received.length, 1);
    assert.deepEqual(t.counted(), { bytes: 250, blobs: 1 + 1 });
    await t.usage.setLimits({ maxBytes: null, maxBlobs: 2 });
    assert.ok((await t.storage.storeVerifiedBlobs([blob(1)])).overQuota, 'the blob limit did not hold');
    // Re-sending what is stored is never refused: it costs nothing.
    const again = [...t.index.rows.values()][0]!;
    const bytes = (await t.store.read(again.key, again.offset === undefined ? undefined : { offset: again.offset, length: again.size }))!;
    assert.equal((await t.storage.storeVerifiedBlobs([{ ref: again.blobRef, bytes }])).overQuota, undefined);
  });

  it('the same new blob uploaded twice at once (both saw no row) counts once: the second row creation finds the first and gives its reservation back', async () => {
    const t = setup();
    const a = blob(500);
    const g = gate();
    const get = t.index.get.bind(t.index);
    t.index.get = async (refs) => {
      const rows = await get(refs);
      if (g.arrived < 2) await g.wait();
      return rows;
    };
    const both = Promise.all([t.storage.storeVerifiedBlobs([a]), t.storage.storeVerifiedBlobs([a])]);
    await until(() => g.arrived === 2);
    g.open();
    const [x, y] = await both;
    assert.deepEqual([x.received, y.received], [[{ blobRef: a.ref, size: 500 }], [{ blobRef: a.ref, size: 500 }]]);
    assert.equal(t.store.objects.size, 2, 'both wrote their object (one is garbage for fsck)');
    assert.deepEqual(t.counted(), { bytes: 500, blobs: 1 });
    assert.deepEqual(t.counted(), t.truth());
  });

  it('a row creation whose condition fails on its own retry (the first attempt landed) keeps its charge', async () => {
    const t = setup();
    const replaceIf = t.index.replaceIf.bind(t.index);
    // The write lands, its answer is lost, and the SDK's retry fails the condition.
    t.index.replaceIf = async (row: BlobRow, old: string | null) => {
      await replaceIf(row, old);
      return false;
    };
    const a = blob(70);
    assert.equal((await t.storage.storeVerifiedBlobs([a])).received.length, 1);
    assert.deepEqual(t.counted(), { bytes: 70, blobs: 1 });
    assert.deepEqual(t.counted(), t.truth());
  });

  it('concurrent uploads never pass the quota, in the worst order (every upload read the index before any reserved)', async () => {
    const t = setup();
    await t.usage.setLimits({ maxBlobs: 10, maxBytes: 10 * 64 });
    const g = gate();
    const get = t.index.get.bind(t.index);
    t.index.get = async (refs) => {
      const rows = await get(refs);
      await g.wait();
      return rows;
    };
    const uploads = Array.from({ length: 25 }, () => t.storage.storeVerifiedBlobs([blob(64)]));
    await until(() => g.arrived === 25);
    g.open();
    const outcomes = await Promise.all(uploads);
    assert.equal(outcomes.filter((o) => o.received.length === 1).length, 10);
    assert.equal(outcomes.filter((o) => o.overQuota).length, 15);
    assert.deepEqual(t.counted(), { bytes: 640, blobs: 10 });
    assert.deepEqual(t.counted(), t.truth());
  });

  it('a failed object write gives its reservation back; a failed row write keeps it (it may have landed) until fsck recounts', async () => {
    const t = setup();
    const create = t.store.create.bind(t.store);
    t.store.create = async () => {
      throw new Error('S3 is down');
    };
    assert.equal((await t.storage.storeVerifiedBlobs([blob(10), blob(20)])).received.length, 0);
    assert.deepEqual(t.counted(), { bytes: 0, blobs: 0 });
    t.store.create = create;
    // A new blob's row goes out in a BatchWriteItem under the creation lock: one that timed out is reported not written.
    t.index.put = async (rows) => rows.map((r) => r.blobRef);
    assert.equal((await t.storage.storeVerifiedBlobs([blob(30)])).received.length, 0);
    assert.deepEqual(t.counted(), { bytes: 30, blobs: 1 }, 'an unknown outcome must not undercount');
    assert.deepEqual(t.truth(), { bytes: 0, blobs: 0 });
    // fsck's recount, once the counter has been still long enough, repairs it.
    const later = Date.now() + USAGE_QUIET_MS + 1;
    const audit = await auditUsage(t.index, t.usage, { repair: true, now: () => later });
    assert.deepEqual({ drift: audit.drift, repaired: audit.repaired }, { drift: true, repaired: true });
    assert.deepEqual(t.counted(), t.truth());
  });

  it('a remove frees the usage of the row it deleted, once', async () => {
    const t = setup();
    const [a, b] = [blob(40), blob(60)];
    await t.storage.storeVerifiedBlobs([a, b]);
    assert.deepEqual(
      (await Promise.all([t.storage.removeBlobs([a.ref]), t.storage.removeBlobs([a.ref])])).flatMap((r) => r.removed),
      [a.ref, a.ref],
    );
    assert.deepEqual(t.counted(), { bytes: 60, blobs: 1 });
    assert.deepEqual(t.counted(), t.truth());
  });

  it('the large-blob lane: a completion over quota copies nothing; concurrent completions of one blob count once', async () => {
    const t = setup();
    const a = blob(300);
    await t.store.create('staging/x/' + a.ref, a.bytes);
    await t.store.create('staging/y/' + a.ref, a.bytes);
    await t.usage.setLimits({ maxBytes: 299 });
    await assert.rejects(t.storage.adoptObject(a.ref, 300, 'staging/x/' + a.ref), QuotaExceeded);
    assert.deepEqual(
      [...t.store.objects.keys()].filter((k) => k.startsWith('blobs/')),
      [],
    );
    await t.usage.setLimits({ maxBytes: 1000 });
    const g = gate();
    const get = t.index.get.bind(t.index);
    t.index.get = async (refs) => {
      const rows = await get(refs);
      if (g.arrived < 2) await g.wait();
      return rows;
    };
    const both = Promise.all([t.storage.adoptObject(a.ref, 300, 'staging/x/' + a.ref), t.storage.adoptObject(a.ref, 300, 'staging/y/' + a.ref)]);
    await until(() => g.arrived === 2);
    g.open();
    await both;
    assert.deepEqual(t.counted(), { bytes: 300, blobs: 1 });
    assert.deepEqual(t.counted(), t.truth());
  });

  it("fsck's recount leaves a counter that moved recently or during the recount (an upload's rows may still be coming)", async () => {
    const t = setup();
    await t.usage.reserve({ bytes: 5, blobs: 1 }); // a reservation whose rows never came (a crash)
    const recent = await auditUsage(t.index, t.usage, { repair: true });
    assert.deepEqual({ drift: recent.drift, repaired: recent.repaired, busy: recent.busy }, { drift: true, repaired: false, busy: true });
    // Still long enough, but an upload counts during the listing: the conditional write refuses.
    const list = t.index.list.bind(t.index);
    t.index.list = async (...args) => {
      await t.usage.adjust({ bytes: 1, blobs: 0 });
      return list(...args);
    };
    const later = Date.now() + USAGE_QUIET_MS + 1;
    const moved = await auditUsage(t.index, t.usage, { repair: true, now: () => later });
    assert.deepEqual({ repaired: moved.repaired, busy: moved.busy }, { repaired: false, busy: true });
    t.index.list = list;
    const report = await auditUsage(t.index, t.usage, { now: () => later });
    assert.equal(report.repaired, false, 'repaired without --repair');
  });

  it("fsck's quiet period covers the longest gap between a reservation and its last row write", () => {
    assert.ok(USAGE_QUIET_MS > ROW_WRITE_WINDOW_MS + worstCaseCallMs(DYNAMODB_CALL_BOUNDS) + 30_000);
  });

  it('exceedsLimits: a delta that adds nothing never exceeds, a limit is inclusive', () => {
    const u = { bytes: 10, blobs: 1, seq: 1, updatedAt: 0, maxBytes: 10, maxBlobs: 1 };
    assert.equal(exceedsLimits(u, { bytes: 0, blobs: 0 }), false);
    assert.equal(exceedsLimits(u, { bytes: -5, blobs: -1 }), false);
    assert.equal(exceedsLimits({ ...u, bytes: 5 }, { bytes: 5, blobs: 0 }), false);
    assert.equal(exceedsLimits({ ...u, bytes: 5 }, { bytes: 6, blobs: 0 }), true);
    assert.equal(exceedsLimits({ ...u, bytes: 0 }, { bytes: 0, blobs: 1 }), true);
  });
});
