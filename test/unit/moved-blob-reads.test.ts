import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { locateBlobs, type LocateAnswer } from '../../lambda/core/read/locate.js';
import type { MemoryBlobStore } from '../../lambda/core/storage/memory-storage.js';
import { getBlobHandler } from '../../lambda/handlers/get-blob.js';
import type { Deps } from '../../lambda/core/deps.js';
import type { HttpEvent } from '../../lambda/core/http/http.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { repackablePack } from '../support/repack-race.js';

/**
 * Every server read path with a repack run between its row read and its object read (the
 * repack re-points the rows, then deletes the old pack): the blob is still stored, so it is
 * served from where its row points now; absent only when its row is gone.
 */
describe('reads that a repack overtakes', () => {
  const settings = { uploadUrlTtlSeconds: 7200, maxUploadSize: 1, maxBlobSize: 1, allowRemove: false, maxInlineGetSize: 1 << 20, completionGraceSeconds: 600 };

  it('readBlob follows the row to the new pack', async () => {
    const t = await repackablePack();
    t.racing.afterNextGet(t.repack);
    assert.deepEqual((await t.storage.readBlob(t.small.ref))?.bytes, t.small.bytes);
    t.racing.afterNextGet(async () => undefined);
    const part = await t.storage.readBlob(t.pair[1].ref, { offset: 5, length: 10 });
    assert.deepEqual(part?.bytes, t.pair[1].bytes.subarray(5, 15));
  });

  it('GET /camli/<ref> answers 200 with the bytes, not 404', async () => {
    const t = await repackablePack();
    const get = getBlobHandler({ storage: t.storage, settings, log: t.log } as unknown as Deps);
    const event = (ref: string) => ({ pathParameters: { blobref: ref }, requestContext: { http: { method: 'GET' } }, headers: {} }) as unknown as HttpEvent;
    t.racing.afterNextGet(t.repack);
    const res = await get(event(t.pair[0].ref), undefined as never);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(Buffer.from(res.body!, 'base64'), t.pair[0].bytes);
  });

  it('locate answers inline and signs its ranges from the current rows', async () => {
    const t = await repackablePack();
    t.racing.afterNextGet(t.repack);
    const answer = await locateBlobs({ storage: t.storage, settings, nowSeconds: () => Date.now() / 1000 }, [t.pair[0].ref, t.pair[1].ref, t.small.ref]);
    assert.deepEqual(answer.missing, []);
    assert.deepEqual(answer.deferred, []);
    const now = (await t.rowOf(t.pair[0].ref))!;
    assert.notEqual(now.key, t.packKey);
    for (const range of answer.ranges) assert.ok(range.url.startsWith(`memory://${now.key}?`), `a range was signed over ${range.url}, not the current pack`);
    const served = await answeredBytes(answer, t.store);
    for (const b of [...t.pair, t.small]) assert.ok(served.get(b.ref)?.equals(b.bytes), `${b.ref} not answered with its bytes`);
  });

  it('locate inlines a followed blob that is small enough', async () => {
    const t = await repackablePack();
    t.racing.afterNextGet(t.repack);
    const answer = await locateBlobs({ storage: t.storage, settings, nowSeconds: () => Date.now() / 1000 }, [t.small.ref]);
    assert.deepEqual(answer.missing, []);
    assert.deepEqual(
      answer.inline.map((b) => [b.blobRef, Buffer.from(b.data, 'base64').equals(t.small.bytes)]),
      [[t.small.ref, true]],
    );
  });

  it('a blob removed while its pack was repacked is absent on every path', async () => {
    const t = await repackablePack();
    const removeThenRepack = async () => {
      assert.deepEqual((await t.storage.removeBlobs([t.small.ref])).errors, []);
      await t.repack();
    };
    t.racing.afterNextGet(removeThenRepack);
    assert.equal(await t.storage.readBlob(t.small.ref), undefined);
    const u = await repackablePack();
    u.racing.afterNextGet(async () => {
      assert.deepEqual((await u.storage.removeBlobs([u.small.ref])).errors, []);
      await u.repack();
    });
    const answer = await locateBlobs({ storage: u.storage, settings, nowSeconds: () => Date.now() / 1000 }, [u.small.ref, u.pair[0].ref, u.pair[1].ref]);
    assert.deepEqual(answer.missing, [u.small.ref]);
    assert.equal(answer.inline.length, 0);
    assert.equal(answer.ranges.length, 1);
  });
});

/** Each answered blob's bytes: inline, or read through its signed range (memory URLs name their key). */
async function answeredBytes(answer: LocateAnswer, store: MemoryBlobStore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>(answer.inline.map((b) => [b.blobRef, Buffer.from(b.data, 'base64')]));
  for (const range of answer.ranges) {
    const key = /^memory:\/\/([^?]+)\?/.exec(range.url)![1]!;
    const [from, to] = /^bytes=(\d+)-(\d+)$/.exec(range.headers['range']!)!.slice(1).map(Number) as [number, number];
    const bytes = await store.read(key, { offset: from, length: to - from + 1 });
    assert.equal(bytes?.length, range.length, `range over ${key} is gone`);
    for (const b of range.blobs) out.set(b.blobRef, bytes!.subarray(b.offset, b.offset + b.size));
  }
  return out;
}

describe('a row whose own object is gone (damage, not a move)', () => {
  it('is answered missing by locate and absent by readBlob, after one re-read of its row', async () => {
    const t = await repackablePack();
    const bytes = Buffer.alloc(300, 1);
    const ref = blobRefOf(bytes);
    assert.deepEqual((await t.storage.storeVerifiedBlobs([{ ref, bytes }])).errors, []);
    const row = (await t.rowOf(ref))!;
    assert.equal(row.offset, undefined, 'a blob of its own object');
    await t.store.delete(row.key);
    const settings = {
      uploadUrlTtlSeconds: 7200,
      maxUploadSize: 1,
      maxBlobSize: 1,
      allowRemove: false,
      maxInlineGetSize: 1 << 20,
      completionGraceSeconds: 600,
    };
    const answer = await locateBlobs({ storage: t.storage, settings, nowSeconds: () => Date.now() / 1000 }, [ref]);
    assert.deepEqual(answer.missing, [ref]);
    assert.equal(await t.storage.readBlob(ref), undefined);
  });
});
