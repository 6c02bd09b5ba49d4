import { digestMatches } from '../blobref.js';
import type { StorageParts } from './blob-storage.js';
import type { BlobRow, SizedRef } from './storage-api.js';

/** Rule 1 of blob-storage.ts: every read starts from the rows (strongly consistent), then the row's object. */

/** Sizes of those of `refs` that are stored. */
export async function stat(parts: Pick<StorageParts, 'index'>, refs: readonly string[]): Promise<Map<string, number>> {
  const rows = await parts.index.get(refs);
  return new Map([...rows].map(([ref, row]) => [ref, row.size]));
}

/** Where a stored blob's bytes are, or undefined when it is not stored. */
export async function locate(parts: Pick<StorageParts, 'index'>, ref: string): Promise<BlobRow | undefined> {
  return (await parts.index.get([ref])).get(ref);
}

/** Up to `count` stored blobs after `after`, in blobref order. */
export async function list(parts: Pick<StorageParts, 'index'>, after: string, count: number): Promise<SizedRef[]> {
  return (await parts.index.list(after, count)).map((r) => ({ blobRef: r.blobRef, size: r.size }));
}

/**
 * A stored blob's bytes (or `range` of them), undefined when it is not stored (or was
 * removed meanwhile). The whole blob is checked against its digest: bytes that are not the
 * blob are an error, never served.
 */
export async function readBlob(
  parts: Pick<StorageParts, 'index' | 'store'>,
  ref: string,
  range?: { offset: number; length: number },
  row?: BlobRow,
): Promise<{ bytes: Buffer; size: number } | undefined> {
  const at = row ?? (await locate(parts, ref));
  if (!at) return undefined;
  const start = range ? Math.min(range.offset, at.size) : 0;
  const length = range ? Math.max(0, Math.min(range.length, at.size - start)) : at.size;
  const bytes = await parts.store.read(at.key, at.offset === undefined && !range ? undefined : { offset: (at.offset ?? 0) + start, length });
  // The row was removed and its object reclaimed between the two reads.
  if (!bytes) return undefined;
  if (bytes.length !== length) throw new Error(`stored object ${at.key} for ${ref} holds ${bytes.length} of ${length} bytes`);
  if (!range && !digestMatches(ref, bytes)) throw new Error(`stored object ${at.key} does not match ${ref}`);
  return { bytes, size: at.size };
}

/** A short-lived URL for the blob's own object (only for blobs that have one, never packs). */
export async function presignedUrl(parts: Pick<StorageParts, 'store'>, row: BlobRow, ttlSeconds: number): Promise<string | undefined> {
  if (row.offset !== undefined) return undefined;
  return parts.store.presignedGetUrl(row.key, ttlSeconds);
}
