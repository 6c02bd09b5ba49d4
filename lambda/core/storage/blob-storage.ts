import { PACK_THRESHOLD } from '../limits.js';
import type { Logger } from '../telemetry.js';
import { AbsenceMemo } from './absence-memo.js';
import { adoptObject } from './blob-adoption.js';
import { list, locate, presignedUrl, readBlob, stat } from './blob-reads.js';
import { removeBlobs, type RemoveOutcome } from './blob-removes.js';
import { storeVerifiedBlobs, type ReceiveOutcome, type VerifiedBlobInput } from './blob-writes.js';
import type { BlobIndex, BlobRow, BlobStore, SizedRef } from './storage-api.js';
import { type CreationLock, MemoryCreationLock } from './creation-lock.js';
import { MemoryUsageLedger, type UsageLedger } from './usage.js';

/**
 * The one place that combines rows (BlobIndex) and objects (BlobStore), and so the one place
 * that decides the order of their writes. Each rule's code is its own module: reads
 * (blob-reads.ts, rule 1), writes (blob-writes.ts, rules 2, 3 and 5), removes (blob-removes.ts,
 * rule 4), the large-blob lane's adoption (blob-adoption.ts), and the repair check of rule 3
 * that writes and adoption share (object-check.ts). The rules, and why they keep every blob wholly
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
 * 6. Usage (usage.ts): an upload reserves the bytes and count of the blobs that have no row,
 *    atomically within the namespace's limits, before it stores anything (refused: nothing
 *    stored). Rows of blobs that had none are created only under the namespace's row-creation
 *    lock (creation-lock.ts): the holder reads them again, writes those still absent (in
 *    batches: no other writer can create them meanwhile) and refunds the rest, and what it
 *    could not send (it reads again only what may have been created since each blob was read
 *    absent: creation-history.ts). A remove frees a blob when its conditional row delete succeeds. So the
 *    counter counts each row once, runs ahead of the rows only between a reservation and its
 *    rows (or after a crash there: fsck recounts), and never passes a limit through an upload.
 */

export interface BlobStorageOptions {
  log: Logger;
  /** Blobs up to this size are packed (at most PACK_THRESHOLD). */
  packThreshold?: number;
  now?: () => Date;
  /** The namespace's usage record (rule 6); default: one in memory (tests). */
  usage?: UsageLedger;
  /** The namespace's row-creation lock (rule 6); default: one in memory (tests). */
  creation?: CreationLock;
  /**
   * This process answers both the preuploads and the uploads of the namespace (the local
   * server): remember the rows stat read absent, so an upload after its preupload does not read
   * them again (absence-memo.ts). Off where reads and writes are different processes (Lambda).
   */
  rememberAbsence?: boolean | undefined;
}

/** What the rules' modules work on: the two stores and the settings of one BlobStorage. */
export interface StorageParts {
  index: BlobIndex;
  store: BlobStore;
  log: Logger;
  packThreshold: number;
  now: () => Date;
  usage: UsageLedger;
  creation: CreationLock;
  /** Set with `rememberAbsence`. */
  absence?: AbsenceMemo;
}

export class BlobStorage {
  private readonly parts: StorageParts;

  constructor(
    readonly index: BlobIndex,
    readonly store: BlobStore,
    options: BlobStorageOptions,
  ) {
    this.parts = {
      index,
      store,
      log: options.log,
      packThreshold: Math.min(options.packThreshold ?? PACK_THRESHOLD, PACK_THRESHOLD),
      now: options.now ?? (() => new Date()),
      usage: options.usage ?? new MemoryUsageLedger(),
      creation: options.creation ?? new MemoryCreationLock(),
      ...(options.rememberAbsence ? { absence: new AbsenceMemo() } : {}),
    };
  }

  /** Sizes of those of `refs` that are stored. */
  stat(refs: readonly string[]): Promise<Map<string, number>> {
    return stat(this.parts, refs);
  }

  /** Where a stored blob's bytes are, or undefined when it is not stored. */
  locate(ref: string): Promise<BlobRow | undefined> {
    return locate(this.parts, ref);
  }

  /** Up to `count` stored blobs after `after`, in blobref order. */
  list(after: string, count: number): Promise<SizedRef[]> {
    return list(this.parts, after, count);
  }

  /** A stored blob's bytes (or `range` of them), checked; undefined when it is not stored (blob-reads.ts). */
  readBlob(ref: string, range?: { offset: number; length: number }, row?: BlobRow): Promise<{ bytes: Buffer; size: number } | undefined> {
    return readBlob(this.parts, ref, range, row);
  }

  /** A short-lived URL for the blob's own object (only for blobs that have one, never packs). */
  presignedUrl(row: BlobRow, ttlSeconds: number): Promise<string | undefined> {
    return presignedUrl(this.parts, row, ttlSeconds);
  }

  /** The namespace's usage record (rule 6). */
  get usage(): UsageLedger {
    return this.parts.usage;
  }

  /** Stores verified blobs (rules 2, 3, 5, 6). Never throws: failures are per blob; over quota, `overQuota` and nothing stored. */
  storeVerifiedBlobs(blobs: readonly VerifiedBlobInput[]): Promise<ReceiveOutcome> {
    return storeVerifiedBlobs(this.parts, blobs);
  }

  /** Removes blobs (rule 4). Never throws: failures are per blob. */
  removeBlobs(refs: readonly string[]): Promise<RemoveOutcome> {
    return removeBlobs(this.parts, refs);
  }

  /** Makes a verified staged object a stored blob, once (blob-adoption.ts); throws QuotaExceeded when the namespace has no room. */
  adoptObject(ref: string, size: number, stagedKey: string, etag?: string): Promise<SizedRef> {
    return adoptObject(this.parts, ref, size, stagedKey, etag);
  }
}
