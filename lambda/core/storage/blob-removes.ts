import { mapConcurrently } from '../concurrency.js';
import { REMOVE_OBJECT_MIN_AGE_MS } from '../limits.js';
import type { StorageParts } from './blob-storage.js';
import { locate } from './blob-reads.js';
import { isSingleBlobKey } from './object-keys.js';
import type { BlobRow } from './storage-api.js';

/**
 * Rule 4 of blob-storage.ts: a remove deletes the row only if it still points at the key we
 * read, then the object only when it is the blob's own and old enough that no retried write of
 * it can still land; packs and young objects are left to fsck.
 */

/** How many refs are removed at once. */
const REMOVE_CONCURRENCY = 8;
/** A remove that keeps losing to uploads re-pointing the row gives up after this many reads. */
const REMOVE_ATTEMPTS = 3;

export interface RemoveOutcome {
  /** Refs no longer stored, in request order (removing a blob we never had counts too, as in Perkeep). */
  removed: string[];
  errors: string[];
}

/** Removes blobs. Never throws: failures are per blob. */
export async function removeBlobs(parts: StorageParts, refs: readonly string[]): Promise<RemoveOutcome> {
  const failures = await mapConcurrently(refs, REMOVE_CONCURRENCY, async (ref): Promise<string | undefined> => {
    try {
      for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
        const row = await locate(parts, ref);
        if (!row) return undefined;
        if (!(await parts.index.deleteIf(ref, row.key))) continue; // re-pointed by an upload meanwhile: read again
        await freeUsage(parts, row);
        await reclaimAfterRemove(parts, row);
        return undefined;
      }
      return `${ref}: not removed (concurrent uploads of it, retry later)`;
    } catch (err) {
      parts.log.error('removing index row failed', { blobRef: ref, error: err as Error });
      return `${ref}: not removed (storage error, retry later)`;
    }
  });
  return { removed: refs.filter((_, i) => failures[i] === undefined), errors: failures.filter((f): f is string => f !== undefined) };
}

/** Rule 6: the row this remove deleted no longer counts (a crash or fault before this: counted high until fsck recounts). */
async function freeUsage(parts: StorageParts, row: BlobRow): Promise<void> {
  try {
    await parts.usage.adjust({ bytes: -row.size, blobs: -1 });
  } catch (err) {
    parts.log.error('freeing the usage of a removed blob failed; fsck recounts it', { blobRef: row.blobRef, error: err as Error });
  }
}

/** The blob is already gone (no row): its own old object can go now; everything else waits for fsck. */
async function reclaimAfterRemove(parts: StorageParts, row: BlobRow): Promise<void> {
  if (!isSingleBlobKey(row.key, row.blobRef)) return;
  if (parts.now().getTime() - Date.parse(row.storedAt) < REMOVE_OBJECT_MIN_AGE_MS) return;
  try {
    await parts.store.delete(row.key);
  } catch (err) {
    parts.log.warn('deleting a removed blob object failed; fsck will reclaim it', { key: row.key, error: err as Error });
  }
}
