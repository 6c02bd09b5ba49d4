import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { blobRefOf, type HashName } from '../../lambda/core/blobref.js';
import { SHARDS, shardOf } from '../../lambda/core/storage/index-schema.js';
import { legacyBlobKey, newBlobKey, newPackKey } from '../../lambda/core/storage/object-keys.js';
import type { BlobIndex, BlobRow, BlobStore } from '../../lambda/core/storage/storage-api.js';
import { createLogger } from '../../lambda/core/telemetry.js';

/**
 * The storage conformance kit (Perkeep's pkg/blobserver/storagetest is the model): the
 * contracts of lambda/core/storage/storage-api.ts, and the behaviour of blob-storage.ts on top of
 * them, run against every implementation: in memory (test/unit) and DynamoDB + S3 on every
 * emulator lane (test/integration).
 */
export interface ConformanceTarget {
  index: BlobIndex;
  store: BlobStore;
  /** Whether the store refuses to overwrite an existing key (S3 and memory do; s3rver ignores If-None-Match). */
  refusesOverwrite: boolean;
  close(): Promise<void>;
}

const log = createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
const blob = (size: number, hash: HashName = 'sha224') => {
  const bytes = randomBytes(size);
  return { ref: blobRefOf(bytes, hash), bytes };
};
const rowFor = (ref: string, size: number, over: Partial<BlobRow> = {}): BlobRow => ({
  blobRef: ref,
  size,
  key: newBlobKey(ref),
  storedAt: new Date().toISOString(),
  ...over,
});
const collect = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

export function defineStorageConformance(name: string, open: () => Promise<ConformanceTarget>, options: { skip?: string | undefined } = {}): void {
  describe(`storage conformance [${name}]`, { skip: options.skip }, () => {
    let t: ConformanceTarget;
    before(async () => {
      t = await open();
    });
    after(async () => {
      await t?.close();
    });

    describe('BlobIndex', () => {
      it('get answers exactly the indexed refs (repeats, many refs, packed and whole rows)', async () => {
        const a = blob(10);
        const b = blob(20, 'sha1');
        const packed = rowFor(b.ref, 20, { key: newPackKey(new Date()), offset: 7 });
        assert.deepEqual(await t.index.put([rowFor(a.ref, 10), packed]), []);
        const absent = Array.from({ length: 150 }, () => blob(1).ref);
        const got = await t.index.get([a.ref, a.ref, b.ref, ...absent]);
        assert.deepEqual([...got.keys()].sort(), [a.ref, b.ref].sort());
        assert.equal(got.get(a.ref)!.size, 10);
        assert.equal(got.get(a.ref)!.offset, undefined);
        assert.deepEqual(got.get(b.ref), packed);
        assert.deepEqual(await t.index.get([]), new Map());
      });

      it('put overwrites (last writer wins) and never sends past sendBy', async () => {
        const a = blob(10);
        const first = rowFor(a.ref, 10);
        const second = rowFor(a.ref, 10);
        await t.index.put([first]);
        await t.index.put([second]);
        assert.equal((await t.index.get([a.ref])).get(a.ref)!.key, second.key);
        const late = blob(5);
        assert.deepEqual(await t.index.put([rowFor(late.ref, 5)], Date.now() - 1), [late.ref]);
        assert.equal((await t.index.get([late.ref])).size, 0);
        // Rows whose storedAt is older than the write window are refused, not sent.
        assert.deepEqual(await t.index.put([rowFor(late.ref, 5, { storedAt: new Date(Date.now() - 3600_000).toISOString() })]), [late.ref]);
        assert.equal((await t.index.get([late.ref])).size, 0);
      });

      it('put writes more than one batch (60 rows)', async () => {
        const rows = Array.from({ length: 60 }, () => blob(3)).map((x) => rowFor(x.ref, 3));
        assert.deepEqual(await t.index.put(rows), []);
        assert.equal((await t.index.get(rows.map((r) => r.blobRef))).size, 60);
      });

      it('deleteIf deletes only the row pointing at the key it names', async () => {
        const a = blob(10);
        const row = rowFor(a.ref, 10);
        await t.index.put([row]);
        assert.equal(await t.index.deleteIf(a.ref, newBlobKey(a.ref)), false);
        assert.equal((await t.index.get([a.ref])).size, 1);
        assert.equal(await t.index.deleteIf(a.ref, row.key), true);
        assert.equal((await t.index.get([a.ref])).size, 0);
        assert.equal(await t.index.deleteIf(a.ref, row.key), false, 'deleting an absent row');
      });

      it('replaceIf replaces only the row pointing at the old key, and never recreates a removed row', async () => {
        const a = blob(10);
        const row = rowFor(a.ref, 10);
        await t.index.put([row]);
        const moved = rowFor(a.ref, 10, { key: newPackKey(new Date()), offset: 3 });
        assert.equal(await t.index.replaceIf(moved, newBlobKey(a.ref)), false);
        assert.equal((await t.index.get([a.ref])).get(a.ref)!.key, row.key);
        assert.equal(await t.index.replaceIf(moved, row.key), true);
        assert.deepEqual((await t.index.get([a.ref])).get(a.ref), moved);
        await t.index.deleteIf(a.ref, moved.key);
        assert.equal(await t.index.replaceIf(row, moved.key), false);
        assert.equal((await t.index.get([a.ref])).size, 0);
      });

      it('replaceIf with a null old key writes the row only while there is none (a completion promotes once)', async () => {
        const a = blob(10);
        const first = rowFor(a.ref, 10);
        const second = rowFor(a.ref, 10, { key: newBlobKey(a.ref) });
        assert.equal(await t.index.replaceIf(first, null), true);
        assert.equal(await t.index.replaceIf(second, null), false);
        assert.deepEqual((await t.index.get([a.ref])).get(a.ref), first);
      });

      it('list walks refs in blobref order across every shard, strictly after `after`, up to count', async () => {
        // A fresh namespace is impossible (other tests share the table), so check order and bounds on what is there.
        const mine = [...Array.from({ length: 40 }, () => blob(2, 'sha1')), ...Array.from({ length: 40 }, () => blob(2))];
        assert.deepEqual(await t.index.put(mine.map((x) => rowFor(x.ref, 2))), [], 'rows reported not written');
        const all = await t.index.list('', 100_000);
        const refs = all.map((r) => r.blobRef);
        assert.deepEqual(refs, [...refs].sort(), 'not in blobref order');
        assert.equal(new Set(refs).size, refs.length, 'a ref listed twice');
        for (const x of mine) assert.ok(refs.includes(x.ref), `${x.ref} not listed`);
        const sorted = mine.map((x) => x.ref).sort();
        const pivot = sorted[37];
        assert.ok(pivot);
        const next = await t.index.list(pivot, 5);
        assert.deepEqual(
          next.map((r) => r.blobRef),
          refs.slice(refs.indexOf(pivot) + 1, refs.indexOf(pivot) + 6),
        );
        assert.deepEqual(
          (await t.index.list(`${pivot}0`, 1)).map((r) => r.blobRef),
          [refs[refs.indexOf(pivot) + 1]],
        );
        assert.deepEqual(
          (await t.index.list(pivot.slice(0, -1), 1)).map((r) => r.blobRef),
          [refs.find((r) => r >= pivot.slice(0, -1))],
        );
        assert.deepEqual(await t.index.list('zzz', 10), []);
        assert.equal((await t.index.list('', 3)).length, 3);
        assert.deepEqual(
          (await t.index.list('sha2', 1)).map((r) => r.blobRef),
          [refs.find((r) => r.startsWith('sha224-'))],
        );
        assert.ok(SHARDS.includes(shardOf(pivot)));
        // `within`: only that prefix's refs, ending with it (fsck's row partitions).
        for (const prefix of [shardOf(pivot), pivot.slice(0, shardOf(pivot).length + 1)]) {
          const inPrefix = refs.filter((r) => r.startsWith(prefix));
          assert.deepEqual(
            (await t.index.list(prefix, 100_000, prefix)).map((r) => r.blobRef),
            inPrefix,
            prefix,
          );
          assert.deepEqual(
            (await t.index.list(prefix, 2, prefix)).map((r) => r.blobRef),
            inPrefix.slice(0, 2),
          );
        }
      });
    });

    describe('BlobStore', () => {
      it('create, read whole and ranges, size; missing keys read as undefined', async () => {
        const key = newPackKey(new Date());
        const bytes = randomBytes(1000);
        await t.store.create(key, bytes);
        assert.deepEqual(await t.store.read(key), bytes);
        assert.deepEqual(await t.store.read(key, { offset: 100, length: 50 }), bytes.subarray(100, 150));
        assert.deepEqual(await t.store.read(key, { offset: 990, length: 50 }), bytes.subarray(990), 'a range past the end is short');
        assert.deepEqual(await t.store.read(key, { offset: 10, length: 0 }), Buffer.alloc(0));
        // A one-byte blob first in a pack (s3rver takes `Range: bytes=0-0` for the whole object).
        assert.deepEqual(await t.store.read(key, { offset: 0, length: 1 }), bytes.subarray(0, 1));
        assert.equal(await t.store.size(key), 1000);
        const missing = newPackKey(new Date());
        assert.equal(await t.store.read(missing), undefined);
        assert.equal(await t.store.read(missing, { offset: 0, length: 0 }), undefined);
        assert.equal(await t.store.read(missing, { offset: 0, length: 10 }), undefined);
        assert.equal(await t.store.size(missing), undefined);
      });

      it('create refuses to overwrite an existing key (where the store can tell)', async (ctx) => {
        if (!t.refusesOverwrite) return ctx.skip('this emulator ignores If-None-Match (keys are unique anyway)');
        const key = newPackKey(new Date());
        await t.store.create(key, Buffer.from('first'));
        await assert.rejects(t.store.create(key, Buffer.from('second')));
        assert.deepEqual(await t.store.read(key), Buffer.from('first'));
      });

      it('copy, delete (a missing key too) and list by prefix with sizes', async () => {
        const a = blob(30);
        const from = `staging/${randomBytes(8).toString('hex')}`;
        const to = newBlobKey(a.ref);
        await t.store.create(from, a.bytes);
        await t.store.copy(from, to);
        assert.deepEqual(await t.store.read(to), a.bytes);
        const listed = await collect(t.store.list(legacyBlobKey(a.ref)));
        assert.deepEqual(
          listed.map((o) => [o.key, o.size]),
          [[to, 30]],
        );
        assert.ok(listed[0]!.lastModified instanceof Date);
        await t.store.delete(from);
        await t.store.delete(from);
        assert.equal(await t.store.read(from), undefined);
      });

      it('a presigned URL names the object', async () => {
        const key = newBlobKey(blob(1).ref);
        assert.ok((await t.store.presignedGetUrl(key, 60)).includes(key));
      });
    });

    describe('BlobStorage on top', () => {
      const storage = () => new BlobStorage(t.index, t.store, { log });

      it('stores a request: small blobs in one pack, a large one alone; stat, list and read agree; bytes verify', async () => {
        const small = [blob(100), blob(0), blob(200, 'sha1')];
        const large = blob((1 << 20) + 1);
        const out = await storage().storeVerifiedBlobs([...small, large]);
        assert.deepEqual(out.errors, []);
        assert.deepEqual(
          out.received,
          [...small, large].map((b) => ({ blobRef: b.ref, size: b.bytes.length })),
        );
        const rows = await t.index.get([...small, large].map((b) => b.ref));
        const packKeys = new Set(small.map((b) => rows.get(b.ref)!.key));
        assert.equal(packKeys.size, 1);
        assert.match([...packKeys][0]!, /^packs\/\d{4}-\d{2}-\d{2}\//);
        assert.ok(rows.get(large.ref)!.key.startsWith(`${legacyBlobKey(large.ref)}/`));
        for (const b of [...small, large]) {
          assert.deepEqual((await storage().readBlob(b.ref))?.bytes, b.bytes);
          assert.deepEqual(await storage().stat([b.ref]), new Map([[b.ref, b.bytes.length]]));
        }
        const part = await storage().readBlob(small[0]!.ref, { offset: 10, length: 20 });
        assert.deepEqual(part, { bytes: small[0]!.bytes.subarray(10, 30), size: 100 });
      });

      it('a stored blob is not rewritten; one whose object is lost is stored again', async () => {
        const a = blob(64);
        await storage().storeVerifiedBlobs([a]);
        const row = (await t.index.get([a.ref])).get(a.ref)!;
        await storage().storeVerifiedBlobs([a]);
        assert.equal((await t.index.get([a.ref])).get(a.ref)!.key, row.key, 'rewritten');
        await t.store.delete(row.key);
        assert.equal(await storage().readBlob(a.ref), undefined);
        const again = await storage().storeVerifiedBlobs([a]);
        assert.deepEqual(again.received, [{ blobRef: a.ref, size: 64 }]);
        assert.notEqual((await t.index.get([a.ref])).get(a.ref)!.key, row.key);
        assert.deepEqual((await storage().readBlob(a.ref))?.bytes, a.bytes);
      });

      it('remove deletes the row; stat, list and read stop showing it; an absent ref counts as removed', async () => {
        const [a, b] = [blob(10), blob(11)];
        await storage().storeVerifiedBlobs([a, b]);
        const out = await storage().removeBlobs([a.ref, blob(3).ref]);
        assert.equal(out.errors.length, 0);
        assert.equal(out.removed.length, 2);
        assert.deepEqual(await storage().stat([a.ref, b.ref]), new Map([[b.ref, 11]]));
        assert.equal(await storage().readBlob(a.ref), undefined);
        assert.ok(!(await t.index.list(a.ref.slice(0, -1), 2)).some((r) => r.blobRef === a.ref));
        assert.deepEqual((await storage().readBlob(b.ref))?.bytes, b.bytes, 'the pack still serves the other blob');
      });

      it('adoptObject makes a staged object a stored blob, idempotently, and deletes the staged copy', async () => {
        const a = blob(5000);
        const staged = `staging/${randomBytes(8).toString('hex')}`;
        await t.store.create(staged, a.bytes);
        assert.deepEqual(await storage().adoptObject(a.ref, 5000, staged), { blobRef: a.ref, size: 5000 });
        assert.equal(await t.store.size(staged), undefined);
        assert.deepEqual((await storage().readBlob(a.ref))?.bytes, a.bytes);
        const key = (await t.index.get([a.ref])).get(a.ref)!.key;
        const staged2 = `staging/${randomBytes(8).toString('hex')}`;
        await t.store.create(staged2, a.bytes);
        assert.deepEqual(await storage().adoptObject(a.ref, 5000, staged2), { blobRef: a.ref, size: 5000 });
        assert.equal((await t.index.get([a.ref])).get(a.ref)!.key, key, 'adopted twice');
        assert.equal(await t.store.size(staged2), undefined);
      });

      it('a row pointing at other bytes is an error on read, never served', async () => {
        const a = blob(40);
        const key = newBlobKey(a.ref);
        await t.store.create(key, randomBytes(40));
        await t.index.put([rowFor(a.ref, 40, { key })]);
        await assert.rejects(storage().readBlob(a.ref), /does not match/);
      });
    });
  });
}
