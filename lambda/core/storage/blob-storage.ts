import { hasherFor, parseBlobRef } from '../blobref.js';
import { mapConcurrently } from '../concurrency.js';
import { PACK_THRESHOLD, REMOVE_OBJECT_MIN_AGE_MS } from '../limits.js';
import { isSingleBlobKey, newBlobKey, newPackKey } from './object-keys.js';
import type { BlobIndex, BlobRow, BlobStore, SizedRef } from './storage-api.js';
import type { Logger } from '../telemetry.js';

/**
 * The one place that combines rows (BlobIndex) and objects (BlobStore), and so the one place
 * that decides the order of their writes. The rules, and why they keep every blob wholly
 * present or wholly absent (docs/storage-model.md, "Guarantees", argues them at length):
 *
 * 1. Rows are the truth. A blob is stored iff it has a row; stat, enumerate and GET read
 *    rows only (strongly consistent), then the row's object.
 * 2. Objects are immutable and their keys unique (object-keys.ts): a key is written once, by
 *    one request, whole (S3 PutObject is atomic), and never overwritten.
 * 3. Upload: objects first, then rows (BatchWriteItem, last writer wins: every row ever
 *    written points at a complete object holding verified bytes). A blob is `received` only
 *    once its object and row are both durable. A row whose object is missing does not block a
 *    re-upload: re-sent blobs' objects are checked (HeadObject) and re-stored when missing.
 * 4. Remove: delete the row only if it still points at the key we read (a concurrent upload
 *    that re-pointed it makes us read again), then delete the object only if it is the
 *    blob's own object and the row was old enough that no retried write of it can still land
 *    (REMOVE_OBJECT_MIN_AGE_MS). Anything else (packs, young objects) is reclaimed by fsck.
 * 5. Objects nobody points at are never deleted here on the upload path; fsck deletes them
 *    once older than its grace period, which exceeds any upload's object-to-row gap.
 */

/** How many large blobs of one request are written at once, and how many refs are removed at once. */
const STORE_CONCURRENCY = 8;
const REMOVE_CONCURRENCY = 8;
/** A remove that keeps losing to uploads re-pointing the row gives up after this many reads. */
const REMOVE_ATTEMPTS = 3;

export interface VerifiedBlobInput {
  ref: string;
  bytes: Buffer;
}

/** What became of one blob of a request: stored with its size, or not, with the reason the client is told. */
export type BlobOutcome = { kind: 'stored'; blob: SizedRef } | { kind: 'failed'; blobRef: string; errorText: string };

const stored = (blobRef: string, size: number): BlobOutcome => ({ kind: 'stored', blob: { blobRef, size } });
const storageFailed = (blobRef: string): BlobOutcome => ({ kind: 'failed', blobRef, errorText: `${blobRef}: not stored (storage error, retry later)` });

export interface ReceiveOutcome {
  received: SizedRef[];
  errors: string[];
}

export interface RemoveOutcome {
  /** Refs no longer stored, in request order (removing a blob we never had counts too, as in Perkeep). */
  removed: string[];
  errors: string[];
}

export interface BlobStorageOptions {
  log: Logger;
  /** Blobs up to this size are packed (at most PACK_THRESHOLD). */
  packThreshold?: number;
  now?: () => Date;
}

export class BlobStorage {
  private readonly log: Logger;
  private readonly packThreshold: number;
  private readonly now: () => Date;

  constructor(
    readonly index: BlobIndex,
    readonly store: BlobStore,
    options: BlobStorageOptions,
  ) {
    this.log = options.log;
    this.packThreshold = Math.min(options.packThreshold ?? PACK_THRESHOLD, PACK_THRESHOLD);
    this.now = options.now ?? (() => new Date());
  }

  /** Sizes of those of `refs` that are stored. */
  async stat(refs: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.index.get(refs);
    return new Map([...rows].map(([ref, row]) => [ref, row.size]));
  }

  /** Where a stored blob's bytes are, or undefined when it is not stored. */
  async locate(ref: string): Promise<BlobRow | undefined> {
    return (await this.index.get([ref])).get(ref);
  }

  /** Up to `count` stored blobs after `after`, in blobref order. */
  async list(after: string, count: number): Promise<SizedRef[]> {
    return (await this.index.list(after, count)).map((r) => ({ blobRef: r.blobRef, size: r.size }));
  }

  /**
   * A stored blob's bytes (or `range` of them), undefined when it is not stored (or was
   * removed meanwhile). The whole blob is checked against its digest: bytes that are not the
   * blob are an error, never served.
   */
  async readBlob(ref: string, range?: { offset: number; length: number }, row?: BlobRow): Promise<{ bytes: Buffer; size: number } | undefined> {
    const at = row ?? (await this.locate(ref));
    if (!at) return undefined;
    const start = range ? Math.min(range.offset, at.size) : 0;
    const length = range ? Math.max(0, Math.min(range.length, at.size - start)) : at.size;
    const bytes = await this.store.read(at.key, at.offset === undefined && !range ? undefined : { offset: (at.offset ?? 0) + start, length });
    // The row was removed and its object reclaimed between the two reads.
    if (!bytes) return undefined;
    if (bytes.length !== length) throw new Error(`stored object ${at.key} for ${ref} holds ${bytes.length} of ${length} bytes`);
    if (!range && !digestMatches(ref, bytes)) throw new Error(`stored object ${at.key} does not match ${ref}`);
    return { bytes, size: at.size };
  }

  /** A short-lived URL for the blob's own object (only for blobs that have one, never packs). */
  async presignedUrl(row: BlobRow, ttlSeconds: number): Promise<string | undefined> {
    if (row.offset !== undefined) return undefined;
    return this.store.presignedGetUrl(row.key, ttlSeconds);
  }

  /** Stores verified blobs; see the rules above. Never throws: failures are per blob. */
  async storeVerifiedBlobs(blobs: readonly VerifiedBlobInput[]): Promise<ReceiveOutcome> {
    const unique = [...new Map(blobs.map((b) => [b.ref, b])).values()];
    let known: Map<string, BlobRow>;
    try {
      known = await this.index.get(unique.map((b) => b.ref));
    } catch (err) {
      this.log.error('index lookup failed; nothing stored', { error: err as Error });
      return { received: [], errors: unique.map((b) => `${b.ref}: not stored (storage unavailable, retry later)`) };
    }

    const outcome = new Map<string, BlobOutcome>();
    // Re-sent blobs that are indexed: present if their object is (rare: preupload filters them).
    const indexed = unique.filter((b) => known.has(b.ref));
    const intact = await this.objectsIntact(indexed.map((b) => known.get(b.ref)!));
    for (const b of indexed) {
      const ok = intact.get(b.ref);
      if (ok === true) outcome.set(b.ref, stored(b.ref, known.get(b.ref)!.size));
      else if (ok === undefined) outcome.set(b.ref, storageFailed(b.ref));
    }
    const fresh = unique.filter((b) => !outcome.has(b.ref));
    const now = this.now();

    // 1. Objects: the small blobs of the request in one pack, the others one object each.
    const small = fresh.filter((b) => b.bytes.length <= this.packThreshold);
    const packed = small.length >= 2 ? small : [];
    const single = fresh.filter((b) => !packed.includes(b));
    const rows: BlobRow[] = [];
    const storedAt = now.toISOString();
    if (packed.length) {
      const key = newPackKey(now);
      try {
        await this.store.create(key, Buffer.concat(packed.map((b) => b.bytes)));
        let offset = 0;
        for (const b of packed) {
          rows.push({ blobRef: b.ref, size: b.bytes.length, key, offset, storedAt });
          offset += b.bytes.length;
        }
      } catch (err) {
        this.log.error('writing pack failed', { key, blobs: packed.length, error: err as Error });
        for (const b of packed) outcome.set(b.ref, storageFailed(b.ref));
      }
    }
    await mapConcurrently(single, STORE_CONCURRENCY, async (b) => {
      const key = newBlobKey(b.ref);
      try {
        await this.store.create(key, b.bytes);
        rows.push({ blobRef: b.ref, size: b.bytes.length, key, storedAt });
      } catch (err) {
        this.log.error('writing blob object failed', { blobRef: b.ref, error: err as Error });
        outcome.set(b.ref, storageFailed(b.ref));
      }
    });

    // 2. Rows, only for objects that are durable. A failed row leaves an unreferenced object for fsck.
    let failed: Set<string>;
    try {
      failed = new Set(await this.index.put(rows));
    } catch (err) {
      this.log.error('writing index rows failed', { error: err as Error });
      failed = new Set(rows.map((r) => r.blobRef));
    }
    for (const row of rows) {
      if (failed.has(row.blobRef)) {
        this.log.error('writing index row failed', { blobRef: row.blobRef });
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

  /**
   * For each row: true when its object holds its range, false when it does not (re-store),
   * undefined when S3 could not tell. One HeadObject per distinct object.
   */
  private async objectsIntact(rows: BlobRow[]): Promise<Map<string, boolean | undefined>> {
    const keys = [...new Set(rows.map((r) => r.key))];
    const sizes = new Map<string, number | undefined | Error>();
    await mapConcurrently(keys, STORE_CONCURRENCY, async (key) => {
      try {
        sizes.set(key, await this.store.size(key));
      } catch (err) {
        this.log.error('checking a stored object failed', { key, error: err as Error });
        sizes.set(key, err as Error);
      }
    });
    const out = new Map<string, boolean | undefined>();
    for (const row of rows) {
      const size = sizes.get(row.key);
      if (size instanceof Error) out.set(row.blobRef, undefined);
      else if (size === undefined) {
        this.log.warn('indexed blob has lost its object; storing it again', { blobRef: row.blobRef, key: row.key });
        out.set(row.blobRef, false);
      } else out.set(row.blobRef, size >= (row.offset ?? 0) + row.size);
    }
    return out;
  }

  /** Removes blobs; see the rules above. Never throws: failures are per blob. */
  async removeBlobs(refs: readonly string[]): Promise<RemoveOutcome> {
    const failures = await mapConcurrently(refs, REMOVE_CONCURRENCY, async (ref): Promise<string | undefined> => {
      try {
        for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
          const row = await this.locate(ref);
          if (!row) return undefined;
          if (!(await this.index.deleteIf(ref, row.key))) continue; // re-pointed by an upload meanwhile: read again
          await this.reclaimAfterRemove(row);
          return undefined;
        }
        return `${ref}: not removed (concurrent uploads of it, retry later)`;
      } catch (err) {
        this.log.error('removing index row failed', { blobRef: ref, error: err as Error });
        return `${ref}: not removed (storage error, retry later)`;
      }
    });
    return { removed: refs.filter((_, i) => failures[i] === undefined), errors: failures.filter((f): f is string => f !== undefined) };
  }

  /** The blob is already gone (no row): its own old object can go now; everything else waits for fsck. */
  private async reclaimAfterRemove(row: BlobRow): Promise<void> {
    if (!isSingleBlobKey(row.key, row.blobRef)) return;
    if (this.now().getTime() - Date.parse(row.storedAt) < REMOVE_OBJECT_MIN_AGE_MS) return;
    try {
      await this.store.delete(row.key);
    } catch (err) {
      this.log.warn('deleting a removed blob object failed; fsck will reclaim it', { key: row.key, error: err as Error });
    }
  }

  /**
   * For the large-blob lane: makes a staged object (already verified to hold `ref`'s `size`
   * bytes) a stored blob: copy to the blob's own unique key, write the row, delete the staged
   * object. Idempotent: a blob already stored (with its object present) is left as it is.
   * Promotes once: the row is written only if it is still what we saw (none, or one whose object
   * is lost), so of concurrent completions (of one upload, or of one blob) one copy wins; each
   * loser answers the winner's blob and leaves its copy, which no row can point at, to the
   * collection: without removal enabled the write side may delete nothing outside staging/.
   */
  async adoptObject(ref: string, size: number, stagedKey: string, etag?: string): Promise<SizedRef> {
    const existing = await this.locate(ref);
    if (existing && (await this.objectsIntact([existing])).get(ref) === true) {
      await this.store.delete(stagedKey);
      return { blobRef: ref, size: existing.size };
    }
    const key = newBlobKey(ref);
    // `etag`: the version that was verified; a staged key overwritten since is not copied.
    await this.store.copy(stagedKey, key, etag);
    if (!(await this.index.replaceIf({ blobRef: ref, size, key, storedAt: this.now().toISOString() }, existing?.key ?? null))) {
      this.log.info('a concurrent completion promoted this blob first; its copy is left to fsck', { key });
      // Acknowledged only when another completion's row now serves the blob. Otherwise (the row
      // was removed meanwhile, or the condition could not name it) the staged object is kept and
      // the client follows the redirect again: never `received` for a blob that is not stored.
      const winner = await this.locate(ref);
      if (!winner || winner.key === existing?.key || (await this.objectsIntact([winner])).get(ref) !== true) {
        throw new Error(`the row of ${ref} changed while it was adopted`);
      }
      await this.store.delete(stagedKey);
      return { blobRef: ref, size: winner.size };
    }
    await this.store.delete(stagedKey);
    return { blobRef: ref, size };
  }
}

export function digestMatches(ref: string, bytes: Buffer): boolean {
  const parsed = parseBlobRef(ref);
  return parsed !== undefined && hasherFor(parsed).update(bytes).digest('hex') === parsed.digest;
}
