import { mapConcurrently } from '../concurrency.js';
import type { StorageParts } from './blob-storage.js';
import { objectsIntact } from './object-check.js';
import { newBlobKey, newPackKey } from './object-keys.js';
import type { BlobRow, SizedRef } from './storage-api.js';

/**
 * Rules 2, 3 and 5 of blob-storage.ts: an upload's verified blobs become objects (the small ones
 * of a request in one pack, the others one object each, every key written once), then rows, and
 * a blob is `received` only once both are durable. Nothing is deleted on this path.
 */

/** How many large blobs of one request are written at once. */
const STORE_CONCURRENCY = 8;

export interface VerifiedBlobInput {
  ref: string;
  bytes: Buffer;
}

/** What became of one blob of a request: stored with its size, or not, with the reason the client is told. */
type BlobOutcome = { kind: 'stored'; blob: SizedRef } | { kind: 'failed'; blobRef: string; errorText: string };

const stored = (blobRef: string, size: number): BlobOutcome => ({ kind: 'stored', blob: { blobRef, size } });
const storageFailed = (blobRef: string): BlobOutcome => ({ kind: 'failed', blobRef, errorText: `${blobRef}: not stored (storage error, retry later)` });

export interface ReceiveOutcome {
  received: SizedRef[];
  errors: string[];
}

/** Stores verified blobs. Never throws: failures are per blob. */
export async function storeVerifiedBlobs(parts: StorageParts, blobs: readonly VerifiedBlobInput[]): Promise<ReceiveOutcome> {
  const unique = [...new Map(blobs.map((b) => [b.ref, b])).values()];
  let known: Map<string, BlobRow>;
  try {
    known = await parts.index.get(unique.map((b) => b.ref));
  } catch (err) {
    parts.log.error('index lookup failed; nothing stored', { error: err as Error });
    return { received: [], errors: unique.map((b) => `${b.ref}: not stored (storage unavailable, retry later)`) };
  }

  const outcome = new Map<string, BlobOutcome>();
  // Re-sent blobs that are indexed: present if their object is (rare: preupload filters them).
  const indexed = unique.filter((b) => known.has(b.ref));
  const intact = await objectsIntact(
    parts,
    indexed.map((b) => known.get(b.ref)!),
  );
  for (const b of indexed) {
    const ok = intact.get(b.ref);
    if (ok === true) outcome.set(b.ref, stored(b.ref, known.get(b.ref)!.size));
    else if (ok === undefined) outcome.set(b.ref, storageFailed(b.ref));
  }
  const fresh = unique.filter((b) => !outcome.has(b.ref));
  const now = parts.now();

  // 1. Objects: the small blobs of the request in one pack, the others one object each.
  const small = fresh.filter((b) => b.bytes.length <= parts.packThreshold);
  const packed = small.length >= 2 ? small : [];
  const single = fresh.filter((b) => !packed.includes(b));
  const rows: BlobRow[] = [];
  const storedAt = now.toISOString();
  if (packed.length) {
    const key = newPackKey(now);
    try {
      await parts.store.create(key, Buffer.concat(packed.map((b) => b.bytes)));
      let offset = 0;
      for (const b of packed) {
        rows.push({ blobRef: b.ref, size: b.bytes.length, key, offset, storedAt });
        offset += b.bytes.length;
      }
    } catch (err) {
      parts.log.error('writing pack failed', { key, blobs: packed.length, error: err as Error });
      for (const b of packed) outcome.set(b.ref, storageFailed(b.ref));
    }
  }
  await mapConcurrently(single, STORE_CONCURRENCY, async (b) => {
    const key = newBlobKey(b.ref);
    try {
      await parts.store.create(key, b.bytes);
      rows.push({ blobRef: b.ref, size: b.bytes.length, key, storedAt });
    } catch (err) {
      parts.log.error('writing blob object failed', { blobRef: b.ref, error: err as Error });
      outcome.set(b.ref, storageFailed(b.ref));
    }
  });

  // 2. Rows, only for objects that are durable. A failed row leaves an unreferenced object for fsck.
  let failed: Set<string>;
  try {
    failed = new Set(await parts.index.put(rows));
  } catch (err) {
    parts.log.error('writing index rows failed', { error: err as Error });
    failed = new Set(rows.map((r) => r.blobRef));
  }
  for (const row of rows) {
    if (failed.has(row.blobRef)) {
      parts.log.error('writing index row failed', { blobRef: row.blobRef });
      outcome.set(row.blobRef, storageFailed(row.blobRef));
    } else {
      outcome.set(row.blobRef, stored(row.blobRef, row.size));
    }
  }

  const received: SizedRef[] = [];
  const errors: string[] = [];
  for (const b of unique) {
    const o = outcome.get(b.ref)!;
    if (o.kind === 'stored') received.push(o.blob);
    else errors.push(o.errorText);
  }
  return { received, errors };
}
