import type { StorageParts } from './blob-storage.js';
import { locate } from './blob-reads.js';
import { CreationLockBusy } from './creation-lock.js';
import { objectsIntact } from './object-check.js';
import { newBlobKey } from './object-keys.js';
import type { SizedRef } from './storage-api.js';
import type { QuotaRefusal } from './usage.js';

/** The namespace has no room for the blob (rule 6): nothing was stored or reserved. */
export class QuotaExceeded extends Error {
  constructor(readonly refusal: QuotaRefusal) {
    super('over quota');
    this.name = 'QuotaExceeded';
  }
}

/**
 * For the large-blob lane: makes a staged object (already verified to hold `ref`'s `size`
 * bytes) a stored blob: copy to the blob's own unique key, write the row, delete the staged
 * object. Idempotent: a blob already stored (with its object present) is left as it is.
 * Promotes once: the row is written only if it is still what we saw (none, or one whose object
 * is lost), so of concurrent completions (of one upload, or of one blob) one copy wins; each
 * loser answers the winner's blob and leaves its copy, which no row can point at, to the
 * collection: without removal enabled the write side may delete nothing outside staging/.
 * Usage (rule 6): a blob with no row is reserved before the copy (refused: QuotaExceeded, nothing
 * copied) and given back when this completion's row is not the one that stands.
 */
export async function adoptObject(parts: StorageParts, ref: string, size: number, stagedKey: string, etag?: string): Promise<SizedRef> {
  const existing = await locate(parts, ref);
  if (existing && (await objectsIntact(parts, [existing])).get(ref) === true) {
    await parts.store.delete(stagedKey);
    return { blobRef: ref, size: existing.size };
  }
  const cost = existing ? { bytes: 0, blobs: 0 } : { bytes: size, blobs: 1 };
  const refusal = await parts.usage.reserve(cost);
  if (refusal) throw new QuotaExceeded(refusal);
  const refund = async () => {
    await parts.usage.adjust({ bytes: -cost.bytes, blobs: -cost.blobs }).catch((err: unknown) => {
      parts.log.error('giving back unused usage failed; fsck recounts it', { blobRef: ref, error: err as Error });
    });
  };
  const key = newBlobKey(ref);
  let copied = false;
  let written: boolean;
  try {
    // `etag`: the version that was verified; a staged key overwritten since is not copied.
    await parts.store.copy(stagedKey, key, etag);
    copied = true;
    // Under the namespace's row-creation lock (rule 6), as every creation of a row: sent at once.
    written = await parts.creation.whileCreating((_sendBy, holding) => {
      holding.writing([ref]);
      return parts.index.replaceIf({ blobRef: ref, size, key, storedAt: parts.now().toISOString() }, existing?.key ?? null);
    });
  } catch (err) {
    // The copy failed or the lock was not had (nothing written), or the row write did (it may
    // have landed: counted high until fsck recounts).
    if (!copied || err instanceof CreationLockBusy) await refund();
    throw err;
  }
  if (!written) {
    // The condition may have failed on our own write's retry (the SDK retries a write whose answer was lost).
    const now = await locate(parts, ref);
    if (now?.key === key) {
      await parts.store.delete(stagedKey);
      return { blobRef: ref, size };
    }
    await refund();
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
