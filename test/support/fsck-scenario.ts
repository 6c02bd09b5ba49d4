import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { newBlobKey } from '../../lambda/core/storage/object-keys.js';
import type { BlobIndex, BlobStore } from '../../lambda/core/storage/storage-api.js';
import { createLogger } from '../../lambda/core/telemetry.js';

/**
 * One store holding every kind of finding fsck reports, built through the storage module and
 * then damaged by hand, for the fsck tests (in memory and on the emulator lanes).
 */
const blob = (size: number) => {
  const bytes = randomBytes(size);
  return { ref: blobRefOf(bytes), bytes };
};

export interface FsckScenario {
  healthy: { ref: string; bytes: Buffer }[];
  /** ref -> the finding its row must produce. */
  damaged: Map<string, 'missing-object' | 'short-object' | 'size-mismatch' | 'digest-mismatch'>;
  /** The blob left alone in a mostly dead pack. */
  survivor: { ref: string; bytes: Buffer };
  packKey: string;
  orphanKey: string;
  storage: BlobStorage;
}

export async function buildFsckScenario(index: BlobIndex, store: BlobStore): Promise<FsckScenario> {
  const storage = new BlobStorage(index, store, { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) });
  const stored = async (...blobs: { ref: string; bytes: Buffer }[]) => assert.deepEqual((await storage.storeVerifiedBlobs(blobs)).errors, []);
  const rowOf = async (ref: string) => (await index.get([ref])).get(ref)!;

  // A pack whose first two blobs get removed: mostly dead, one survivor.
  const [gone1, gone2, survivor] = [blob(3000), blob(3000), blob(500)];
  await stored(gone1, gone2, survivor);
  const packKey = (await rowOf(survivor.ref)).key;
  assert.deepEqual((await storage.removeBlobs([gone1.ref, gone2.ref])).errors, []);

  const healthy = [blob(10), blob(20), blob(1_100_000)];
  await stored(...healthy);
  healthy.push(survivor);

  const damaged = new Map<string, 'missing-object' | 'short-object' | 'size-mismatch' | 'digest-mismatch'>();
  const storedAt = new Date().toISOString();
  // Its object deleted.
  const lost = blob(100);
  await stored(lost);
  await store.delete((await rowOf(lost.ref)).key);
  damaged.set(lost.ref, 'missing-object');
  // A row reaching past the end of its pack.
  const short = blob(100);
  assert.deepEqual(await index.put([{ blobRef: short.ref, size: 100, key: packKey, offset: 3000 * 2 + 500 - 50, storedAt }]), []);
  damaged.set(short.ref, 'short-object');
  // Its own object of another size.
  const resized = blob(100);
  const resizedKey = newBlobKey(resized.ref);
  await store.create(resizedKey, randomBytes(99));
  assert.deepEqual(await index.put([{ blobRef: resized.ref, size: 100, key: resizedKey, storedAt }]), []);
  damaged.set(resized.ref, 'size-mismatch');
  // Same size, other bytes.
  const corrupt = blob(100);
  const corruptKey = newBlobKey(corrupt.ref);
  await store.create(corruptKey, randomBytes(100));
  assert.deepEqual(await index.put([{ blobRef: corrupt.ref, size: 100, key: corruptKey, storedAt }]), []);
  damaged.set(corrupt.ref, 'digest-mismatch');
  // An object no row points at (a failed upload's).
  const orphan = blob(700);
  const orphanKey = newBlobKey(orphan.ref);
  await store.create(orphanKey, orphan.bytes);

  return { healthy, damaged, survivor, packKey, orphanKey, storage };
}
