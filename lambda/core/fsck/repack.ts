import { digestMatches } from '../blobref.js';
import { newPackKey } from '../storage/object-keys.js';
import type { BlobIndex, BlobRow, BlobStore, StoredObjectInfo } from '../storage/storage-api.js';

/**
 * Copies a pack's live blobs (digest-checked) into a new pack, re-points their rows
 * conditionally on the old key, and deletes the old pack once no row points at it. Answers the
 * bytes freed, or undefined when the old pack had to stay.
 */
export async function repack(index: BlobIndex, store: BlobStore, pack: StoredObjectInfo, live: BlobRow[], now: Date): Promise<number | undefined> {
  const bytes = await store.read(pack.key);
  if (!bytes) return undefined;
  const keep = live.filter((r) => digestMatches(r.blobRef, bytes.subarray(r.offset ?? 0, (r.offset ?? 0) + r.size)));
  if (keep.length) {
    const key = newPackKey(now);
    await store.create(key, Buffer.concat(keep.map((r) => bytes.subarray(r.offset ?? 0, (r.offset ?? 0) + r.size))));
    let offset = 0;
    const storedAt = now.toISOString();
    for (const r of keep) {
      await index.replaceIf({ blobRef: r.blobRef, size: r.size, key, offset, storedAt }, pack.key);
      offset += r.size;
    }
  }
  const still = [...(await index.get(live.map((r) => r.blobRef))).values()].some((r) => r.key === pack.key);
  if (still) return undefined;
  await store.delete(pack.key);
  return pack.size - keep.reduce((n, r) => n + r.size, 0);
}
