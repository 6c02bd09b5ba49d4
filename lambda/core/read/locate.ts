import { digestMatches } from '../blobref.js';
import { mapConcurrently } from '../concurrency.js';
import type { Deps } from '../deps.js';
import { coalesce, readSpans, splitInline, type Run } from './read-plan.js';
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
  const rows = await index.get(refs);
  const missing = refs.filter((r) => !rows.has(r));
  const runs = coalesce([...rows.values()], MAX_RUN_BYTES);
  const { direct, inline, deferred } = splitInline(runs, { maxInlineRun: MAX_INLINE_RUN, inlineBudget: INLINE_BUDGET });

  const expirationSeconds = direct.length
    ? cappedLifetime(deps.settings.uploadUrlTtlSeconds, deps.nowSeconds() * 1000, await store.signingExpiration())
    : deps.settings.uploadUrlTtlSeconds;
  const ranges = await Promise.all(
    direct.map(async (run): Promise<LocatedRange> => {
      const { url, headers } = await store.presignedRangeUrl(run.key, { offset: run.start, length: run.length }, expirationSeconds);
      return { url, headers, length: run.length, blobs: run.blobs };
    }),
  );

  const inlined: LocateAnswer['inline'] = [];
  const gone: string[] = [];
  await mapConcurrently(readSpans(inline, MAX_READ_GAP), READ_CONCURRENCY, async (span) => {
    const bytes = await store.read(span.key, { offset: span.start, length: span.length });
    for (const run of span.runs) {
      for (const b of run.blobs) {
        const at = run.start - span.start + b.offset;
        // The object is gone or shorter (removed and reclaimed since the row was read): not stored.
        if (!bytes || bytes.length < at + b.size) {
          gone.push(b.blobRef);
          continue;
        }
        const blob = bytes.subarray(at, at + b.size);
        // As GET does: bytes that are not the blob are an error, never served.
        if (!digestMatches(b.blobRef, blob)) throw new Error(`stored object ${span.key} does not match ${b.blobRef}`);
        inlined.push({ blobRef: b.blobRef, size: b.size, data: blob.toString('base64') });
      }
    }
  });
  return { expirationSeconds, ranges, inline: inlined, missing: [...missing, ...gone], deferred: refsOf(deferred) };
}

const refsOf = (runs: readonly Run[]) => runs.flatMap((r) => r.blobs.map((b) => b.blobRef));
