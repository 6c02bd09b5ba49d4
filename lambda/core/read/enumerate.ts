import type { BlobStorage } from '../storage/blob-storage.js';
import type { SizedRef } from '../storage/storage-api.js';
import { REFUSE } from '../http/errors.js';
import { DEFAULT_ENUMERATE_LIMIT, MAX_ENUMERATE_LIMIT } from '../limits.js';

/** enumerate-blobs: pages of stored blobs in blobref order. */

export interface EnumerateQuery {
  /** List only refs strictly greater than this (any string, not necessarily a stored ref). */
  after: string;
  limit: number;
}

export interface EnumeratePage {
  blobs: SizedRef[];
  /** Present when more blobs may follow; the next page asks for `after=<continueAfter>`. */
  continueAfter?: string;
}

/** Far longer than any blobref, far shorter than DynamoDB's 1 KB key limit. */
const MAX_AFTER_LENGTH = 256;

/** `after` (default: from the start) and `limit` (default 100, values above 10000 clamped). */
export function parseEnumerateQuery(params: URLSearchParams): EnumerateQuery {
  const after = params.get('after') ?? '';
  if (after.length > MAX_AFTER_LENGTH) throw REFUSE.invalidAfter(MAX_AFTER_LENGTH);
  const raw = params.get('limit');
  if (raw === null || raw === '') return { after, limit: DEFAULT_ENUMERATE_LIMIT };
  if (!/^[0-9]+$/.test(raw) || Number(raw) === 0) throw REFUSE.invalidLimit(raw);
  return { after, limit: Math.min(Number(raw), MAX_ENUMERATE_LIMIT) };
}

/**
 * A page from `candidates` (listing rows after `after`, in order, up to limit + 1 of them) and
 * `stored` (their sizes by strongly consistent read). Rows that are no longer stored are
 * dropped; the (limit+1)-th candidate only tells us that more follow.
 */
export function assemblePage(candidates: readonly SizedRef[], limit: number, stored: ReadonlyMap<string, number>): EnumeratePage {
  const page = candidates.slice(0, limit);
  const blobs = page.filter((r) => stored.has(r.blobRef)).map((r) => ({ blobRef: r.blobRef, size: stored.get(r.blobRef)! }));
  return candidates.length > limit ? { blobs, continueAfter: page[page.length - 1]!.blobRef } : { blobs };
}

/**
 * One page: limit + 1 rows from the strongly consistent listing (a Query per non-empty range
 * shard, in order), so the page is exactly what stat would say. O(limit / 1000 + shards) requests
 * whatever the size of the store.
 */
export async function enumeratePage(storage: Pick<BlobStorage, 'list'>, query: EnumerateQuery): Promise<EnumeratePage> {
  const candidates = await storage.list(query.after, query.limit + 1);
  return assemblePage(candidates, query.limit, new Map(candidates.map((r) => [r.blobRef, r.size])));
}
