import type { BlobIndex, BlobRow } from './storage-api.js';

/**
 * Where a blob is now, after the object its row named turned out gone (or short). A repack
 * (fsck) copies a pack's live blobs to a new pack, re-points their rows, and only then deletes
 * the old pack: a reader that took the row before the re-pointing finds the object gone while
 * the blob is still stored. So "object gone" never means "removed" by itself; the row, read
 * again (strongly consistent, after the failed object read), decides:
 *
 * - `moved`: the row now points elsewhere; read there (a blob can move again, so callers bound
 *   how many times they follow: MAX_ROW_FOLLOWS).
 * - `removed`: no row; the blob really is absent (removal deletes the row first).
 * - `unchanged`: the row still points at the missing bytes. Nothing deletes an object a row
 *   points at, so this is damage (fsck's missing-object); a re-upload repairs it.
 */
export type RowNow = { state: 'moved'; row: BlobRow } | { state: 'removed' } | { state: 'unchanged'; row: BlobRow };

/** What a reader knew of a row: the place it read from. */
export type SeenRow = Pick<BlobRow, 'blobRef' | 'size' | 'key' | 'offset'>;

/** Follows per read: each one is a repack that finished during the read (repacks are hours apart). */
export const MAX_ROW_FOLLOWS = 3;

/** Whether two rows name the same bytes. */
export function samePlace(a: SeenRow, b: SeenRow): boolean {
  return a.key === b.key && (a.offset ?? -1) === (b.offset ?? -1) && a.size === b.size;
}

/** The current state of each of `seen` (one strongly consistent batch read). */
export async function followRows(index: Pick<BlobIndex, 'get'>, seen: readonly SeenRow[]): Promise<Map<string, RowNow>> {
  const now = await index.get(seen.map((r) => r.blobRef));
  const out = new Map<string, RowNow>();
  for (const old of seen) {
    const row = now.get(old.blobRef);
    out.set(old.blobRef, !row ? { state: 'removed' } : samePlace(row, old) ? { state: 'unchanged', row } : { state: 'moved', row });
  }
  return out;
}

/** The current state of one row (followRows for one). */
export async function followRow(index: Pick<BlobIndex, 'get'>, seen: SeenRow): Promise<RowNow> {
  return (await followRows(index, [seen])).get(seen.blobRef)!;
}
