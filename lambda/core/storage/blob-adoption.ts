import type { StorageParts } from './blob-storage.js';
import { locate } from './blob-reads.js';
import { objectsIntact } from './object-check.js';
import { newBlobKey } from './object-keys.js';
import type { SizedRef } from './storage-api.js';

/**
 * For the large-blob lane: makes a staged object (already verified to hold `ref`'s `size`
 * bytes) a stored blob: copy to the blob's own unique key, write the row, delete the staged
 * object. Idempotent: a blob already stored (with its object present) is left as it is.
 * Promotes once: the row is written only if it is still what we saw (none, or one whose object
 * is lost), so of concurrent completions (of one upload, or of one blob) one copy wins; each
 * loser answers the winner's blob and leaves its copy, which no row can point at, to the
 * collection: without removal enabled the write side may delete nothing outside staging/.
 */
export async function adoptObject(parts: StorageParts, ref: string, size: number, stagedKey: string, etag?: string): Promise<SizedRef> {
  const existing = await locate(parts, ref);
  if (existing && (await objectsIntact(parts, [existing])).get(ref) === true) {
    await parts.store.delete(stagedKey);
    return { blobRef: ref, size: existing.size };
  }
  const key = newBlobKey(ref);
  // `etag`: the version that was verified; a staged key overwritten since is not copied.
  await parts.store.copy(stagedKey, key, etag);
  if (!(await parts.index.replaceIf({ blobRef: ref, size, key, storedAt: parts.now().toISOString() }, existing?.key ?? null))) {
    parts.log.info('a concurrent completion promoted this blob first; its copy is left to fsck', { key });
    // Acknowledged only when another completion's row now serves the blob. Otherwise (the row
    // was removed meanwhile, or the condition could not name it) the staged object is kept and
    // the client follows the redirect again: never `received` for a blob that is not stored.
    const winner = await locate(parts, ref);
    if (!winner || winner.key === existing?.key || (await objectsIntact(parts, [winner])).get(ref) !== true) {
      throw new Error(`the row of ${ref} changed while it was adopted`);
    }
    await parts.store.delete(stagedKey);
    return { blobRef: ref, size: winner.size };
  }
  await parts.store.delete(stagedKey);
  return { blobRef: ref, size };
}
