import { digestMatches } from '../blobref.js';
import { mapConcurrently } from '../concurrency.js';
import type { Deps } from '../deps.js';
import { coalesce, readSpans, splitInline, type PlacedRow, type Run } from './read-plan.js';
import { followRows, MAX_ROW_FOLLOWS } from '../storage/row-follow.js';
import { isPackKey } from '../storage/object-keys.js';
import { cappedLifetime } from '../aws/signing-lifetime.js';

/**
 * The batch locate extension (DESIGN §9, `POST /camli/locate`): where each of up to 1,000
 * blobs' bytes are, as presigned S3 GET URLs with signed byte ranges (neighbouring blobs of a
 * pack coalesced into one range), or inline for small runs. Rows are the truth: only blobs
 * with a row are answered, and only their bytes are granted.
 */

/** A run's bytes are at most this large (a single larger blob is a run of its own). */
export const MAX_RUN_BYTES = 8 << 20;
/** Runs up to this size are read by the server and answered inline. */
export const MAX_INLINE_RUN = 64 << 10;
/** Raw bytes inlined per answer (base64 of it, with the JSON around, stays far below Lambda's 6 MB). */
export const INLINE_BUDGET = 2 << 20;
/** Inline runs of one object closer than this share the server's read. */
const MAX_READ_GAP = 256 << 10;
const READ_CONCURRENCY = 8;

export interface LocatedRange {
  url: string;
  /** Headers the GET must carry exactly (the signed Range). */
  headers: Record<string, string>;
  length: number;
  /** Each blob's place within the range's bytes. */
  blobs: { blobRef: string; size: number; offset: number }[];
}

export interface LocateAnswer {
  /** Seconds the URLs stay valid. */
  expirationSeconds: number;
  ranges: LocatedRange[];
  inline: { blobRef: string; size: number; data: string }[];
  /** Not stored. */
  missing: string[];
  /** Stored, but not answered this time (the inline budget ran out): ask again. */
  deferred: string[];
}

export async function locateBlobs(deps: Pick<Deps, 'storage' | 'settings' | 'nowSeconds'>, refs: readonly string[]): Promise<LocateAnswer> {
  const { index, store } = deps.storage;
  let rows: PlacedRow[] = [...(await index.get(refs)).values()];
  const stored = new Set(rows.map((r) => r.blobRef));
  const answer: LocateAnswer = {
    expirationSeconds: deps.settings.uploadUrlTtlSeconds,
    ranges: [],
    inline: [],
    missing: refs.filter((r) => !stored.has(r)),
    deferred: [],
  };
  let lifetime: number | undefined;
  let budget = INLINE_BUDGET;
  // A round answers the rows it has; the blobs whose object turned out gone are followed to
  // their current row (a repack moved them: row-follow.ts) and answered in the next round, from
  // that row, so neither an inline answer nor a signed range ever comes from a stale row.
  for (let round = 0; rows.length; round++) {
    const runs = coalesce(rows, MAX_RUN_BYTES);
    const { direct, inline, deferred } = splitInline(runs, { maxInlineRun: MAX_INLINE_RUN, inlineBudget: budget });
    budget -= inline.reduce((n, run) => n + run.length, 0);
    answer.deferred.push(...refsOf(deferred));
    if (direct.length && lifetime === undefined) {
      lifetime = cappedLifetime(deps.settings.uploadUrlTtlSeconds, deps.nowSeconds() * 1000, await store.signingExpiration());
      answer.expirationSeconds = lifetime;
    }
    // Gone blobs are followed from their rows exactly as read (a whole object has no offset).
    const rowOf = new Map(rows.map((r) => [r.blobRef, r]));
    const gone: PlacedRow[] = [];
    const goneRun = (run: Run) => gone.push(...run.blobs.map((b) => rowOf.get(b.blobRef)!));
    // A range is signed only over an object that is there after its rows were read: a pack
    // (the only kind of object a repack deletes) is checked first, one HEAD per pack, so a
    // repack that finished since is followed here instead of handing out a dead URL. (One that
    // finishes later makes the client's GET fail; it asks again, client/batch-read.ts.)
    const packSizes = new Map<string, Promise<number | undefined>>();
    for (const run of direct) if (isPackKey(run.key) && !packSizes.has(run.key)) packSizes.set(run.key, store.size(run.key));
    const signed = await Promise.all(
      direct.map(async (run): Promise<LocatedRange | undefined> => {
        const size = isPackKey(run.key) ? await packSizes.get(run.key) : Infinity;
        if (size === undefined || size < run.start + run.length) return void goneRun(run);
        const { url, headers } = await store.presignedRangeUrl(run.key, { offset: run.start, length: run.length }, lifetime!);
        return { url, headers, length: run.length, blobs: run.blobs };
      }),
    );
    for (const range of signed) if (range) answer.ranges.push(range);

    await mapConcurrently(readSpans(inline, MAX_READ_GAP), READ_CONCURRENCY, async (span) => {
      const bytes = await store.read(span.key, { offset: span.start, length: span.length });
      for (const run of span.runs) {
        for (const b of run.blobs) {
          const at = run.start - span.start + b.offset;
          if (!bytes || bytes.length < at + b.size) {
            gone.push(rowOf.get(b.blobRef)!);
            continue;
          }
          const blob = bytes.subarray(at, at + b.size);
          // As GET does: bytes that are not the blob are an error, never served.
          if (!digestMatches(b.blobRef, blob)) throw new Error(`stored object ${span.key} does not match ${b.blobRef}`);
          answer.inline.push({ blobRef: b.blobRef, size: b.size, data: blob.toString('base64') });
        }
      }
    });
    rows = [];
    if (!gone.length) break;
    for (const [ref, now] of await followRows(index, gone)) {
      // Absent only when the row says so: removed, or (damage) still naming the missing object.
      if (now.state !== 'moved') answer.missing.push(ref);
      else if (round + 1 >= MAX_ROW_FOLLOWS) throw new Error(`${ref} moved ${MAX_ROW_FOLLOWS} times while being located`);
      else rows.push(now.row);
    }
  }
  return answer;
}

const refsOf = (runs: readonly Run[]) => runs.flatMap((r) => r.blobs.map((b) => b.blobRef));
