import type { BlobIndex } from './blob-index.js';
import type { BlobStore } from './blob-store.js';
import { mapConcurrently } from './concurrency.js';
import type { Logger } from './telemetry.js';

/** How many blobs of one request are removed at once. */
const REMOVE_CONCURRENCY = 8;

export interface RemoveOutcome {
  /** Refs no longer stored, in request order (removing a blob we never had counts too, as in Perkeep). */
  removed: string[];
  errors: string[];
}

/**
 * Removes blobs: the index row first, then the object, so no reader ever finds a row whose
 * bytes are gone. If the object delete fails the blob is already invisible (no row) and is
 * reported not removed, so a retry deletes the leftover object.
 */
export async function removeBlobs(refs: readonly string[], index: BlobIndex, store: BlobStore, log: Logger): Promise<RemoveOutcome> {
  // Each ref ends up removed (undefined) or with the reason it was not.
  const failures = await mapConcurrently(refs, REMOVE_CONCURRENCY, async (ref): Promise<string | undefined> => {
    try {
      await index.delete(ref);
    } catch (err) {
      log.error('removing index row failed', { blobRef: ref, error: err as Error });
      return `${ref}: not removed (storage error, retry later)`;
    }
    try {
      await store.delete(ref);
      return undefined;
    } catch (err) {
      log.error('removing object failed after its index row was removed', { blobRef: ref, error: err as Error });
      return `${ref}: no longer served, but its bytes were not deleted (retry to finish)`;
    }
  });
  return { removed: refs.filter((_, i) => failures[i] === undefined), errors: failures.filter((f): f is string => f !== undefined) };
}
