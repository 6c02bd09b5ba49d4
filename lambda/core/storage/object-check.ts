import { mapConcurrently } from '../concurrency.js';
import type { StorageParts } from './blob-storage.js';
import type { BlobRow } from './storage-api.js';

/** How many objects are checked at once. */
const CHECK_CONCURRENCY = 8;

/**
 * The repair check of rule 3 (blob-storage.ts), shared by writes and adoption: for each row,
 * true when its object holds its range, false when it does not (store the blob again),
 * undefined when S3 could not tell. One HeadObject per distinct object.
 */
export async function objectsIntact(parts: Pick<StorageParts, 'store' | 'log'>, rows: BlobRow[]): Promise<Map<string, boolean | undefined>> {
  const keys = [...new Set(rows.map((r) => r.key))];
  const sizes = new Map<string, number | undefined | Error>();
  await mapConcurrently(keys, CHECK_CONCURRENCY, async (key) => {
    try {
      sizes.set(key, await parts.store.size(key));
    } catch (err) {
      parts.log.error('checking a stored object failed', { key, error: err as Error });
      sizes.set(key, err as Error);
    }
  });
  const out = new Map<string, boolean | undefined>();
  for (const row of rows) {
    const size = sizes.get(row.key);
    if (size instanceof Error) out.set(row.blobRef, undefined);
    else if (size === undefined) {
      parts.log.warn('indexed blob has lost its object; storing it again', { blobRef: row.blobRef, key: row.key });
      out.set(row.blobRef, false);
    } else out.set(row.blobRef, size >= (row.offset ?? 0) + row.size);
  }
  return out;
}
