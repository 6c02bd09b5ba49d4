import { mapConcurrently } from '../concurrency.js';
import { ROW_WRITE_WINDOW_MS } from '../limits.js';
import { markOrNone } from './absence-memo.js';
import type { StorageParts } from './blob-storage.js';
import type { LockMark } from './creation-history.js';
import type { CreationHolding } from './creation-lock.js';
import { objectsIntact } from './object-check.js';
import { newBlobKey, newPackKey } from './object-keys.js';
import type { BlobRow, SizedRef } from './storage-api.js';
import type { QuotaRefusal, UsageDelta } from './usage.js';

/**
 * Rules 2, 3, 5 and 6 of blob-storage.ts: an upload's verified blobs become objects (the small ones
 * of a request in one pack, the others one object each, every key written once), then rows, and
 * a blob is `received` only once both are durable. Nothing is deleted on this path. The blobs
 * without a row are reserved in the namespace's usage first (refused: nothing is stored), their
 * rows created under the namespace's row-creation lock (creation-lock.ts) only where no row is,
 * and what this upload did not create is refunded. Blobs this process read absent before (the
 * preupload's read, when one process answers both: absence-memo.ts) are not read first; the
 * holder of the lock reads again only the rows that may have been created since each read.
 */

/** How many large blobs of one request are written at once. */
const STORE_CONCURRENCY = 8;
/** How many conditional row writes (re-pointing a lost object's row) of one request are in flight at once. */
export const ROW_CONCURRENCY = 16;

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
  /** Set when the namespace has no room for the upload's new blobs: then nothing was stored or reserved. */
  overQuota?: QuotaRefusal;
}

/** Stores verified blobs. Never throws: failures are per blob. */
export async function storeVerifiedBlobs(parts: StorageParts, blobs: readonly VerifiedBlobInput[]): Promise<ReceiveOutcome> {
  const unique = [...new Map(blobs.map((b) => [b.ref, b])).values()];
  /** When each ref not known was read absent: before the mark's take (none: read again under the lock). */
  const marks = parts.absence?.take(unique.map((b) => b.ref)) ?? new Map<string, LockMark>();
  const toRead = unique.filter((b) => !marks.has(b.ref));
  let known = new Map<string, BlobRow>();
  try {
    if (toRead.length) {
      const mark = parts.absence ? await markOrNone(parts) : undefined;
      known = await parts.index.get(toRead.map((b) => b.ref));
      if (mark) for (const b of toRead) if (!known.has(b.ref)) marks.set(b.ref, mark);
    }
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
  // Rule 6: blobs without a row cost their bytes and one blob each; a row whose object is lost
  // was counted when it was made, so re-storing it costs nothing.
  const charged = new Set(unique.filter((b) => !outcome.has(b.ref) && !known.has(b.ref)).map((b) => b.ref));
  const cost = costOf(unique.filter((b) => charged.has(b.ref)));
  try {
    const refusal = await parts.usage.reserve(cost);
    if (refusal) return { received: [], errors: [], overQuota: refusal };
  } catch (err) {
    parts.log.error('reserving usage failed; the new blobs are not stored', { error: err as Error });
    for (const ref of charged) outcome.set(ref, storageFailed(ref));
    charged.clear();
  }
  /** Refs whose reservation is given back: this upload did not create their row. */
  const refund = new Set<string>();
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
      for (const b of packed) {
        outcome.set(b.ref, storageFailed(b.ref));
        if (charged.has(b.ref)) refund.add(b.ref);
      }
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
      if (charged.has(b.ref)) refund.add(b.ref);
    }
  });

  // 2. Rows, only for objects that are durable, under the namespace's row-creation lock (rule 6).
  // A failed row leaves an unreferenced object for fsck.
  let ran = false;
  try {
    if (rows.length)
      await parts.creation.whileCreating(async (sendBy, holding) => {
        ran = true;
        const deadline = Math.min(Date.parse(storedAt) + ROW_WRITE_WINDOW_MS, sendBy);
        await writeRows(parts, rows, { charged, known, marks, outcome, refund, holding, deadline });
      });
  } catch (err) {
    // Not taken (held elsewhere all the wait, or a fault taking it): no row was written, so
    // nothing is kept. Taken, then a fault: what has no outcome may have landed, and keeps its charge.
    parts.log.error(ran ? 'writing rows failed' : 'row-creation lock not taken; rows not written', { rows: rows.length, error: err as Error });
    for (const row of rows) {
      if (ran && outcome.has(row.blobRef)) continue;
      outcome.set(row.blobRef, storageFailed(row.blobRef));
      if (!ran && charged.has(row.blobRef)) refund.add(row.blobRef);
    }
  }
  const back = costOf(unique.filter((b) => refund.has(b.ref)));
  if (back.blobs > 0) {
    try {
      await parts.usage.adjust({ bytes: -back.bytes, blobs: -back.blobs });
    } catch (err) {
      // Counted high until fsck recounts (docs/storage-model.md, "Usage and quotas").
      parts.log.error('giving back unused usage failed; fsck recounts it', { blobs: back.blobs, error: err as Error });
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

function costOf(blobs: readonly VerifiedBlobInput[]): UsageDelta {
  return { bytes: blobs.reduce((n, b) => n + b.bytes.length, 0), blobs: blobs.length };
}

/** What the row phase reads and records: the upload's charged refs, its first reads, outcomes and refunds. */
interface RowWork {
  charged: Set<string>;
  known: Map<string, BlobRow>;
  /** The marks the charged refs were read absent after (none: read again). */
  marks: Map<string, LockMark>;
  outcome: Map<string, BlobOutcome>;
  refund: Set<string>;
  holding: CreationHolding;
  /** No row write is sent after this (epoch ms): the row write window, and the lock's hold. */
  deadline: number;
}

/**
 * The rows of an upload, run under the namespace's row-creation lock. New blobs' rows: read
 * again where one may have been created since they were read absent (creation-history.ts), and
 * those still absent written in batches (no other writer can create them while the lock is
 * held); a row another upload created since the first read serves the blob, and this
 * upload's reservation for it is refunded. A row whose write failed keeps its reservation (it
 * may have landed: high until fsck recounts). Rows of blobs whose object was lost are re-pointed
 * one by one, conditionally (rare). Never throws.
 */
async function writeRows(parts: StorageParts, rows: readonly BlobRow[], work: RowWork): Promise<void> {
  const { charged, known, outcome, refund, holding } = work;
  let fresh = rows.filter((r) => charged.has(r.blobRef));
  let current = new Map<string, BlobRow>();
  try {
    const reread = mayHaveRows(fresh, work.marks, holding);
    if (reread.length) current = await parts.index.get(reread);
  } catch (err) {
    parts.log.error('reading rows under the creation lock failed; they are not written', { rows: fresh.length, error: err as Error });
    for (const r of fresh) {
      outcome.set(r.blobRef, storageFailed(r.blobRef));
      refund.add(r.blobRef);
    }
    fresh = [];
  }
  const absent: BlobRow[] = [];
  for (const r of fresh) {
    const other = current.get(r.blobRef);
    if (!other) absent.push(r);
    else {
      // Another upload created it after our first read: its row serves the blob (rule 3).
      outcome.set(r.blobRef, stored(r.blobRef, other.size));
      refund.add(r.blobRef);
    }
  }
  holding.writing(absent.map((r) => r.blobRef));
  const failed = new Set(await parts.index.put(absent, work.deadline));
  for (const r of absent) outcome.set(r.blobRef, failed.has(r.blobRef) ? storageFailed(r.blobRef) : stored(r.blobRef, r.size));

  // A lost object's row is re-pointed only while it still names that object (a remove that took
  // it meanwhile freed its usage: the blob is then stored as a new one, reserved and created
  // where no row is, which the lock makes safe).
  await mapConcurrently(
    rows.filter((r) => !charged.has(r.blobRef)),
    ROW_CONCURRENCY,
    async (row) => {
      let charge = false;
      holding.writing([row.blobRef]);
      let result = await createRow(parts, row, known.get(row.blobRef)!.key, work.deadline);
      if (result.kind === 'gone') {
        const refused = await parts.usage.reserve({ bytes: row.size, blobs: 1 }).catch((err: unknown) => {
          parts.log.error('reserving usage failed; the blob is not stored', { blobRef: row.blobRef, error: err as Error });
          return 'failed' as const;
        });
        if (refused === undefined) {
          charge = true;
          charged.add(row.blobRef);
          result = await createRow(parts, row, null, work.deadline);
        }
      }
      if (result.kind === 'created' || result.kind === 'unknown-present') outcome.set(row.blobRef, stored(row.blobRef, row.size));
      else if (result.kind === 'other') outcome.set(row.blobRef, stored(row.blobRef, result.size));
      else outcome.set(row.blobRef, storageFailed(row.blobRef));
      // Kept only where this upload's row may be the one that stands.
      if (charge && result.kind !== 'created' && result.kind !== 'unknown' && result.kind !== 'unknown-present') refund.add(row.blobRef);
    },
  );
}

/** Of the new rows, those whose blobs may have a row by now, asked once per mark. */
function mayHaveRows(rows: readonly BlobRow[], marks: ReadonlyMap<string, LockMark>, holding: CreationHolding): string[] {
  const byMark = new Map<LockMark | undefined, string[]>();
  for (const r of rows) {
    const mark = marks.get(r.blobRef);
    const refs = byMark.get(mark);
    if (refs) refs.push(r.blobRef);
    else byMark.set(mark, [r.blobRef]);
  }
  return [...byMark].flatMap(([mark, refs]) => holding.mayHaveRows(refs, mark));
}

/**
 * What became of one row write: `created` (this upload's row stands), `other` (another row
 * serves the blob: a concurrent upload's, with its size), `gone` (the row it was to replace was
 * removed meanwhile), `unsent` (past the row write window), `unknown` (the write failed: it may
 * have been applied), `unknown-present` (a row serves the blob; whose could not be read back).
 */
type RowResult = { kind: 'created' | 'gone' | 'unsent' | 'unknown' | 'unknown-present' } | { kind: 'other'; size: number };

/**
 * Writes `row` only while the blob's row still names `expected` (null: only where there is none).
 * A condition that fails may be our own write's retry (the SDK retries a write whose answer was
 * lost), so the row is read back: our key is ours (keys are unique).
 */
async function createRow(parts: StorageParts, row: BlobRow, expected: string | null, deadline: number): Promise<RowResult> {
  // As BlobIndex.put, on the same clock: no row write is sent past the window (rule 4 of blob-storage.ts
  // relies on it) or the creation lock's hold.
  if (Date.now() > deadline) {
    parts.log.error('row write window or creation lock hold passed; row reported failed, not sent', { blobRef: row.blobRef });
    return { kind: 'unsent' };
  }
  try {
    if (await parts.index.replaceIf(row, expected)) return { kind: 'created' };
  } catch (err) {
    parts.log.error('writing index row failed', { blobRef: row.blobRef, error: err as Error });
    return { kind: 'unknown' };
  }
  let now: BlobRow | undefined;
  try {
    now = (await parts.index.get([row.blobRef])).get(row.blobRef);
  } catch (err) {
    parts.log.error('reading back a row whose condition failed failed', { blobRef: row.blobRef, error: err as Error });
    return { kind: expected === null ? 'unknown-present' : 'unknown' };
  }
  if (!now) return { kind: 'gone' };
  if (now.key === row.key) return { kind: 'created' };
  // Another upload's row: complete, verified bytes (rule 3), so the blob is stored. A lost
  // object's row that changed is left as it is: this upload stored nothing the client can count on.
  return expected === null ? { kind: 'other', size: now.size } : { kind: 'gone' };
}
