import type { BlobIndex } from './blob-index.js';
import type { BlobStore } from './blob-store.js';
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
  const done = new Set<string>();
  const errors: string[] = [];
  const queue = [...refs];
  const worker = async () => {
    for (let ref = queue.shift(); ref; ref = queue.shift()) {
      try {
        await index.delete(ref);
      } catch (err) {
        log.error('removing index row failed', { blobRef: ref, error: err as Error });
        errors.push(`${ref}: not removed (storage error, retry later)`);
        continue;
      }
      try {
        await store.delete(ref);
        done.add(ref);
      } catch (err) {
        log.error('removing object failed after its index row was removed', { blobRef: ref, error: err as Error });
        errors.push(`${ref}: no longer served, but its bytes were not deleted (retry to finish)`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(REMOVE_CONCURRENCY, refs.length) }, worker));
  return { removed: refs.filter((r) => done.has(r)), errors };
}
