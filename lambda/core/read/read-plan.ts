/**
 * How the batch locate extension (DESIGN §9) answers a set of rows: pure, no I/O.
 *
 * Rows of one object that lie exactly end to end are coalesced into one run, a byte range of
 * that object. A run never has a gap: every byte it covers belongs to a blob that was asked
 * for and still has a row, so a URL for it grants no byte of a removed (or unrequested) blob
 * left inside a pack. Small runs may be served inline instead (the server reads them, a few
 * per pack, and the client saves a GET each).
 */

export interface PlacedRow {
  blobRef: string;
  size: number;
  key: string;
  /** Offset inside a pack; undefined: the object is the blob. */
  offset?: number;
}

/** One blob inside a run: `offset` is where its bytes start within the run. */
export interface RunBlob {
  blobRef: string;
  size: number;
  offset: number;
}

/** A byte range [start, start + length) of one object, holding exactly `blobs`, end to end. */
export interface Run {
  key: string;
  start: number;
  length: number;
  blobs: RunBlob[];
}

/**
 * The runs covering every row (each row in exactly one run; duplicate refs once). Runs stop
 * growing at `maxRunBytes` (a single larger blob is a run of its own), which bounds what a
 * client holds per read. Runs come in object order, then offset order.
 */
export function coalesce(rows: readonly PlacedRow[], maxRunBytes: number): Run[] {
  const seen = new Set<string>();
  const byKey = new Map<string, PlacedRow[]>();
  for (const r of rows) {
    if (seen.has(r.blobRef)) continue;
    seen.add(r.blobRef);
    const list = byKey.get(r.key) ?? [];
    list.push(r);
    byKey.set(r.key, list);
  }
  const runs: Run[] = [];
  for (const [key, list] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0) || a.size - b.size);
    let run: Run | undefined;
    for (const r of list) {
      const at = r.offset ?? 0;
      if (run && at === run.start + run.length && run.length + r.size <= maxRunBytes) {
        run.blobs.push({ blobRef: r.blobRef, size: r.size, offset: run.length });
        run.length += r.size;
      } else {
        run = { key, start: at, length: r.size, blobs: [{ blobRef: r.blobRef, size: r.size, offset: 0 }] };
        runs.push(run);
      }
    }
  }
  return runs;
}

export interface InlinePolicy {
  /** Runs up to this many bytes are served inline (a presigned URL each would cost a GET for little). */
  maxInlineRun: number;
  /** Raw bytes one answer may inline (its base64 must fit a Lambda response). */
  inlineBudget: number;
}

/**
 * Which runs go inline and which get a URL. Small runs beyond the budget are deferred (the
 * client asks for them again), so a batch of many tiny scattered blobs costs a few requests
 * instead of a GET each. Empty blobs are always inline (an empty range cannot be signed).
 */
export function splitInline(runs: readonly Run[], policy: InlinePolicy): { direct: Run[]; inline: Run[]; deferred: Run[] } {
  const direct: Run[] = [];
  const inline: Run[] = [];
  const deferred: Run[] = [];
  let budget = policy.inlineBudget;
  for (const run of runs) {
    if (run.length > policy.maxInlineRun) direct.push(run);
    else if (run.length <= budget) {
      inline.push(run);
      budget -= run.length;
    } else deferred.push(run);
  }
  return { direct, inline, deferred };
}

/** One ranged read the server makes for inline runs: [start, start + length) of `key`, holding `runs`. */
export interface Span {
  key: string;
  start: number;
  length: number;
  runs: Run[];
}

/**
 * The server's own reads for inline runs: runs of one object closer than `maxGap` bytes share
 * a read (the gap is read and dropped server-side; it never reaches the client).
 */
export function readSpans(runs: readonly Run[], maxGap: number): Span[] {
  const sorted = [...runs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.start - b.start));
  const spans: Span[] = [];
  let span: Span | undefined;
  for (const run of sorted) {
    const end = span ? span.start + span.length : 0;
    if (span && span.key === run.key && run.start >= end && run.start - end <= maxGap) {
      span.length = run.start + run.length - span.start;
      span.runs.push(run);
    } else {
      span = { key: run.key, start: run.start, length: run.length, runs: [run] };
      spans.push(span);
    }
  }
  return spans;
}

/** The HTTP Range header value for a run (inclusive end). Runs are never empty. */
export function rangeHeader(run: Pick<Run, 'start' | 'length'>): string {
  return `bytes=${run.start}-${run.start + run.length - 1}`;
}
