import type { BlobIndex, SizedRef } from './blob-index.js';
import type { BlobStore } from './blob-store.js';
import { mapConcurrently } from './concurrency.js';
import type { VerifiedBlob } from './multipart.js';
import type { Logger } from './telemetry.js';

/** How many blobs of one request are written at once. */
const STORE_CONCURRENCY = 8;

export interface ReceiveOutcome {
  received: SizedRef[];
  errors: string[];
}

/**
 * Stores verified blobs: bytes to S3 first, then the index row, so a row never exists
 * without its object. A blob is reported received only once both writes succeeded; one
 * already indexed is reported without being rewritten.
 */
export async function storeVerifiedBlobs(
  blobs: readonly VerifiedBlob[],
  index: BlobIndex,
  store: BlobStore,
  log: Logger,
): Promise<ReceiveOutcome> {
  const unique = [...new Map(blobs.map((b) => [b.ref, b])).values()];
  let known: Map<string, number>;
  try {
    known = await index.sizes(unique.map((b) => b.ref));
  } catch (err) {
    log.error('index lookup failed; nothing stored', { error: err as Error });
    return { received: [], errors: unique.map((b) => `${b.ref}: not stored (storage unavailable, retry later)`) };
  }

  const outcomes = await mapConcurrently(unique, STORE_CONCURRENCY, async (blob): Promise<SizedRef | string> => {
    const existing = known.get(blob.ref);
    if (existing !== undefined) return { blobRef: blob.ref, size: existing };
    try {
      await store.put(blob.ref, blob.bytes);
      await index.put(blob.ref, blob.bytes.length);
      return { blobRef: blob.ref, size: blob.bytes.length };
    } catch (err) {
      log.error('storing blob failed', { blobRef: blob.ref, error: err as Error });
      return `${blob.ref}: not stored (storage error, retry later)`;
    }
  });
  const received: SizedRef[] = [];
  const errors: string[] = [];
  for (const outcome of outcomes) {
    if (typeof outcome === 'string') errors.push(outcome);
    else received.push(outcome);
  }
  return { received, errors };
}
