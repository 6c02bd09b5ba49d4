import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { fsck } from '../../lambda/core/fsck/fsck.js';
import { createLogger } from '../../lambda/core/telemetry.js';
import { MemoryBlobIndex, MemoryBlobStore } from '../../lambda/core/storage/memory-storage.js';
import { buildFsckScenario } from '../support/fsck-scenario.js';
import { namedNamespace } from '../../lambda/core/namespace.js';
import { storeForNamespace } from '../../lambda/core/storage/namespaced-store.js';
import { bucketKey } from '../../lambda/core/storage/object-keys.js';

/** fsck over the in-memory storage: every finding, every repair, and the grace period. */
describe('fsck', () => {
  const later = () => new Date(Date.now() + 2 * 3600_000);

  it('--repair never reclaims a first-model object (blobs/<ref>): before migrate its row is in the legacy table', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const bytes = randomBytes(300);
    const legacy = `blobs/${blobRefOf(bytes)}`;
    await store.create(legacy, bytes);
    const report = await fsck(index, store, { repair: true, now: later });
    assert.deepEqual(
      report.findings.map((f) => [f.kind, f.key]),
      [['unreferenced-object', legacy]],
    );
    assert.equal(report.repaired.objectsDeleted, 0);
    assert.equal(await store.size(legacy), 300);
  });

  it('a clean store has no findings', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const storage = new BlobStorage(index, store, { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) });
    const blobs = [10, 20, 1_100_000].map((n) => randomBytes(n)).map((bytes) => ({ ref: blobRefOf(bytes), bytes }));
    assert.deepEqual((await storage.storeVerifiedBlobs(blobs)).errors, []);
    const report = await fsck(index, store, { verify: true });
    assert.equal(report.rows, 3);
    assert.equal(report.objects, 2);
    assert.deepEqual(report.findings, []);
    assert.equal(report.damaged, 0);
  });

  it('reports each kind of damage and garbage, without --verify no digest checks', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const s = await buildFsckScenario(index, store);
    const plain = await fsck(index, store);
    const damage = (r: typeof plain) => new Map(r.findings.filter((f) => f.ref).map((f) => [f.ref!, f.kind]));
    const expectedWithoutVerify = new Map([...s.damaged].filter(([, k]) => k !== 'digest-mismatch'));
    assert.deepEqual(damage(plain), expectedWithoutVerify);
    assert.equal(plain.damaged, 3);
    const verified = await fsck(index, store, { verify: true });
    assert.deepEqual(damage(verified), s.damaged);
    assert.equal(verified.damaged, 4);
    const garbage = verified.findings.filter((f) => !f.ref);
    assert.deepEqual(
      garbage.map((f) => [f.kind, f.key, f.bytes]).sort(),
      [
        ['dead-pack-bytes', s.packKey, 6000],
        ['unreferenced-object', s.orphanKey, 700],
      ].sort(),
    );
    // A report changes nothing.
    assert.deepEqual(damage(await fsck(index, store, { verify: true })), s.damaged);
  });

  it('--repair deletes damaged rows, reclaims old unreferenced objects, repacks mostly dead packs; then the store is clean', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const s = await buildFsckScenario(index, store);
    const report = await fsck(index, store, { verify: true, repair: true, now: later });
    assert.equal(report.repaired.rowsDeleted, 4);
    assert.equal(report.repaired.packsRepacked, 1);
    // The orphan, the old pack, and the unreferenced objects the damaged rows pointed at are for the next run.
    assert.ok(report.repaired.objectsDeleted >= 2, JSON.stringify(report.repaired));
    assert.equal(await store.size(s.orphanKey), undefined);
    assert.equal(await store.size(s.packKey), undefined, 'the old pack is still there');
    for (const ref of s.damaged.keys()) assert.equal((await index.get([ref])).size, 0, ref);
    const moved = (await index.get([s.survivor.ref])).get(s.survivor.ref)!;
    assert.notEqual(moved.key, s.packKey);
    for (const b of s.healthy) assert.deepEqual((await s.storage.readBlob(b.ref))?.bytes, b.bytes, b.ref);
    // What the deleted rows pointed at is now unreferenced, and goes on the next run.
    await fsck(index, store, { repair: true, now: later });
    const after = await fsck(index, store, { verify: true });
    assert.deepEqual(after.findings, []);
  });

  it('never reclaims objects younger than the grace period (an upload between its object and its row)', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const s = await buildFsckScenario(index, store);
    const report = await fsck(index, store, { repair: true });
    assert.equal(report.repaired.objectsDeleted, 0);
    assert.equal(report.repaired.packsRepacked, 0);
    assert.ok(await store.size(s.orphanKey));
    assert.ok(await store.size(s.packKey));
  });

  it('repacking never recreates a row removed meanwhile, and keeps the old pack while a row points at it', async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const s = await buildFsckScenario(index, store);
    // The survivor is removed between the listing and the repack: replaceIf must not bring it back.
    const replaceIf = index.replaceIf.bind(index);
    index.replaceIf = async (row, oldKey) => {
      await s.storage.removeBlobs([row.blobRef]);
      return replaceIf(row, oldKey);
    };
    await fsck(index, store, { repair: true, now: later });
    assert.equal((await index.get([s.survivor.ref])).size, 0, 'a removed blob came back');
    assert.equal(await store.size(s.packKey), undefined);
  });

  it("finds the rows of a day whose packs are all gone (the day is planned from the rows, not only from the packs' listing)", async () => {
    const index = new MemoryBlobIndex();
    const store = new MemoryBlobStore();
    const storage = new BlobStorage(index, store, { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) });
    const blobs = [randomBytes(300), randomBytes(400)].map((bytes) => ({ ref: blobRefOf(bytes), bytes }));
    assert.deepEqual((await storage.storeVerifiedBlobs(blobs)).errors, []);
    const packKey = (await index.get([blobs[0]!.ref])).get(blobs[0]!.ref)!.key;
    await store.delete(packKey);
    const report = await fsck(index, store);
    assert.deepEqual(report.findings.map((f) => [f.kind, f.ref]).sort(), blobs.map((b) => ['missing-object', b.ref]).sort());
    assert.equal(report.damaged, 2);
  });

  describe('the recovery window (a versioned store keeps deleted objects as noncurrent versions)', () => {
    it('--repair restores a deleted object from its version and keeps its row; the other damage is deleted as before', async () => {
      const index = new MemoryBlobIndex();
      const store = new MemoryBlobStore({ versioned: true });
      const s = await buildFsckScenario(index, store);
      const lost = [...s.damaged].find(([, kind]) => kind === 'missing-object')![0];
      const report = await fsck(index, store, { verify: true, repair: true, now: later });
      assert.equal(report.damaged, 4, 'the damage is still reported');
      assert.equal(report.repaired.objectsRestored, 1);
      assert.equal(report.repaired.rowsDeleted, 3);
      const restored = report.findings.filter((f) => f.restoredFrom);
      assert.deepEqual(
        restored.map((f) => [f.kind, f.ref]),
        [['missing-object', lost]],
      );
      assert.match(restored[0]!.restoredFrom!, /^v[0-9]+$/);
      assert.ok((await index.get([lost])).has(lost), 'the restored blob kept its row');
      assert.equal(blobRefOf((await s.storage.readBlob(lost))!.bytes), lost);
      for (const [ref] of [...s.damaged].filter(([r]) => r !== lost)) assert.equal((await index.get([ref])).size, 0, ref);
    });

    it('takes the newest version whose bytes match the row, never one with other bytes, and only with --repair', async () => {
      const index = new MemoryBlobIndex();
      const store = new MemoryBlobStore({ versioned: true });
      const right = randomBytes(5000);
      const ref = blobRefOf(right);
      const key = `blobs/${ref}/0123456789abcdef01234567`;
      await store.create(key, right); // v1: the blob
      await store.delete(key);
      await store.create(key, randomBytes(5000)); // v2: other bytes of the same size, newer
      await store.delete(key);
      assert.deepEqual(await index.put([{ blobRef: ref, size: 5000, key, storedAt: new Date().toISOString() }]), []);
      const [older, newer] = store.noncurrent.get(key)!;

      const looked = await fsck(index, store, { now: later });
      assert.deepEqual(
        looked.findings.map((f) => [f.kind, f.restoredFrom]),
        [['missing-object', undefined]],
      );
      assert.equal(await store.size(key), undefined, 'a report restores nothing');

      const repaired = await fsck(index, store, { repair: true, now: later });
      assert.deepEqual(
        repaired.findings.map((f) => [f.kind, f.restoredFrom]),
        [['missing-object', older!.versionId]],
      );
      assert.notEqual(newer!.versionId, older!.versionId);
      assert.deepEqual(await store.read(key), right);
      assert.deepEqual((await fsck(index, store, { verify: true })).findings, []);
    });

    it('a version with other bytes only: the row is deleted, nothing restored', async () => {
      const index = new MemoryBlobIndex();
      const store = new MemoryBlobStore({ versioned: true });
      const ref = blobRefOf(randomBytes(64));
      const key = `blobs/${ref}/0123456789abcdef01234567`;
      await store.create(key, randomBytes(64));
      await store.delete(key);
      assert.deepEqual(await index.put([{ blobRef: ref, size: 64, key, storedAt: new Date().toISOString() }]), []);
      const report = await fsck(index, store, { repair: true, now: later });
      assert.equal(report.repaired.objectsRestored, 0);
      assert.equal(report.repaired.rowsDeleted, 1);
      assert.equal(await store.size(key), undefined);
    });

    it("a named namespace's fsck restores its own key from its own versions, never another namespace's", async () => {
      const bucket = new MemoryBlobStore({ versioned: true });
      const bytes = randomBytes(3000);
      const ref = blobRefOf(bytes);
      const key = `blobs/${ref}/0123456789abcdef01234567`;
      const [alice, bob] = [namedNamespace('alice'), namedNamespace('bob')];
      const aliceStore = storeForNamespace(bucket, alice);
      const index = new MemoryBlobIndex();
      await aliceStore.create(key, bytes);
      await aliceStore.delete(key);
      await storeForNamespace(bucket, bob).create(key, randomBytes(3000)); // the same key in bob's: other bytes, kept
      assert.deepEqual(await index.put([{ blobRef: ref, size: 3000, key, storedAt: new Date().toISOString() }]), []);
      const report = await fsck(index, aliceStore, { repair: true, now: later });
      assert.equal(report.repaired.objectsRestored, 1);
      assert.equal(report.repaired.rowsDeleted, 0);
      assert.deepEqual(await bucket.read(bucketKey(alice, key)), bytes, "restored under alice's prefix");
      assert.equal(await bucket.size(key), undefined, "nothing written at the root namespace's key");
      assert.notDeepEqual(await bucket.read(bucketKey(bob, key)), bytes, "bob's object untouched");
    });
  });
});
