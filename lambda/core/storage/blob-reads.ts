import { digestMatches } from '../blobref.js';
import type { StorageParts } from './blob-storage.js';
import { markOrNone } from './absence-memo.js';
import { followRow, MAX_ROW_FOLLOWS } from './row-follow.js';
import type { BlobRow, SizedRef } from './storage-api.js';

/** Rule 1 of blob-storage.ts: every read starts from the rows (strongly consistent), then the row's object. */

/** Sizes of those of `refs` that are stored; those not, noted in the absence memo when there is one. */
export async function stat(parts: Pick<StorageParts, 'index' | 'absence' | 'creation' | 'log'>, refs: readonly string[]): Promise<Map<string, number>> {
  const mark = parts.absence ? await markOrNone(parts) : undefined;
  const rows = await parts.index.get(refs);
  if (mark) parts.absence?.note(notIn(rows, refs), mark);
  return new Map([...rows].map(([ref, row]) => [ref, row.size]));
}

const notIn = (rows: ReadonlyMap<string, BlobRow>, refs: readonly string[]) => refs.filter((ref) => !rows.has(ref));

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
 * blob are an error, never served. An object gone under a row is followed to where the row
 * points now (row-follow.ts: a repack moved it); only a row that is gone, or that still names
 * the missing object (damage, fsck's missing-object), makes the answer absent.
 */
export async function readBlob(
  parts: Pick<StorageParts, 'index' | 'store' | 'log'>,
  ref: string,
  range?: { offset: number; length: number },
  row?: BlobRow,
): Promise<{ bytes: Buffer; size: number } | undefined> {
  let at = row ?? (await locate(parts, ref));
  for (let follows = 0; at; follows++) {
    const start = range ? Math.min(range.offset, at.size) : 0;
    const length = range ? Math.max(0, Math.min(range.length, at.size - start)) : at.size;
    const bytes = await parts.store.read(at.key, at.offset === undefined && !range ? undefined : { offset: (at.offset ?? 0) + start, length });
    if (bytes && bytes.length === length) {
      if (!range && !digestMatches(ref, bytes)) throw new Error(`stored object ${at.key} does not match ${ref}`);
      return { bytes, size: at.size };
    }
    const now = await followRow(parts.index, at);
    if (now.state === 'removed') return undefined;
    if (now.state === 'unchanged') {
      if (bytes) throw new Error(`stored object ${at.key} for ${ref} holds ${bytes.length} of ${length} bytes`);
      parts.log.warn('a row points at a missing object (damage: fsck reports it, a re-upload repairs it)', { blobRef: ref, key: at.key });
      return undefined;
    }
    if (follows + 1 >= MAX_ROW_FOLLOWS) throw new Error(`${ref} moved ${MAX_ROW_FOLLOWS} times while being read`);
    at = now.row;
  }
  return undefined;
}

/** A short-lived URL for the blob's own object (only for blobs that have one, never packs). */
export async function presignedUrl(parts: Pick<StorageParts, 'store'>, row: BlobRow, ttlSeconds: number): Promise<string | undefined> {
  if (row.offset !== undefined) return undefined;
  return parts.store.presignedGetUrl(row.key, ttlSeconds);
}
