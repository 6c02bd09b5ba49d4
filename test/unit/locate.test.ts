import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { INLINE_BUDGET, MAX_INLINE_RUN, locateBlobs } from '../../lambda/core/read/locate.js';
import { MemoryBlobIndex, MemoryBlobStore } from '../../lambda/core/storage/memory-storage.js';
import { createLogger } from '../../lambda/core/telemetry.js';

/** locateBlobs' answer on in-memory storage: expiry, inline budget and deferral, missing refs. */
describe('locateBlobs', () => {
  const now = 1_800_000_000;
  const setup = (expiration?: Date) => {
    const store = new MemoryBlobStore();
    store.signingExpiration = async () => expiration;
    const storage = new BlobStorage(new MemoryBlobIndex(), store, { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'CRITICAL' }) });
    return {
      storage,
      settings: { uploadUrlTtlSeconds: 7200, maxUploadSize: 1, maxBlobSize: 1, allowRemove: false, maxInlineGetSize: 1, completionGraceSeconds: 600 },
      nowSeconds: () => now,
    };
  };
  const blob = (size: number) => {
    const bytes = randomBytes(size);
    return { ref: blobRefOf(bytes), bytes };
  };

  it('caps URL expiry at the signing credentials expiration', async () => {
    const deps = setup(new Date((now + 900) * 1000));
    const big = [blob(MAX_INLINE_RUN + 1), blob(MAX_INLINE_RUN + 1)] as const;
    await deps.storage.storeVerifiedBlobs(big);
    const answer = await locateBlobs(
      deps,
      big.map((b) => b.ref),
    );
    assert.equal(answer.expirationSeconds, 900);
    assert.equal(answer.ranges.length, 1, 'the two blobs of one pack share a range');
    assert.ok(answer.ranges[0]!.url.includes('ttl=900'));
    const longLived = setup(undefined);
    await longLived.storage.storeVerifiedBlobs(big);
    assert.equal((await locateBlobs(longLived, [big[0].ref])).expirationSeconds, 7200);
  });

  it('inlines small runs up to the budget, defers the rest, reports unknown refs missing', async () => {
    const deps = setup();
    // Stored one per request: each its own object, so each its own run.
    const small = Array.from({ length: Math.ceil(INLINE_BUDGET / MAX_INLINE_RUN) + 3 }, () => blob(MAX_INLINE_RUN));
    for (const b of small) await deps.storage.storeVerifiedBlobs([b]);
    const unknown = blob(5).ref;
    const answer = await locateBlobs(deps, [...small.map((b) => b.ref), unknown]);
    assert.deepEqual(answer.missing, [unknown]);
    assert.deepEqual(answer.ranges, []);
    assert.ok(answer.inline.reduce((n, b) => n + b.size, 0) <= INLINE_BUDGET);
    assert.equal(answer.inline.length + answer.deferred.length, small.length);
    assert.ok(answer.deferred.length > 0);
    for (const b of answer.inline) assert.ok(Buffer.from(b.data, 'base64').equals(small.find((s) => s.ref === b.blobRef)!.bytes));
  });
});
