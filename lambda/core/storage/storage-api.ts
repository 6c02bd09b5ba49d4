/**
 * The two storage interfaces and their contracts (Perkeep's pkg/blobserver/interface.go is the
 * model). Implementations: DynamoDB + S3 (dynamodb-index.ts, s3-store.ts) and in memory
 * (memory-storage.ts). Only blob-storage.ts combines them; it owns the ordering rules. Every
 * implementation passes test/support/storage-conformance.ts.
 */

/** A stored blob's place: where its bytes are. `key` is an object key; `offset` is set inside a pack. */
export interface BlobRow {
  blobRef: string;
  size: number;
  /** The S3 object holding the bytes: `packs/<day>/<id>`, `blobs/<ref>/<id>` or (legacy) `blobs/<ref>`. */
  key: string;
  /** Byte offset inside a pack object; undefined means the object is the blob, whole. */
  offset?: number;
  /** ISO time at which the writer created the row (bounds when a retried write may still land). */
  storedAt: string;
}

export interface SizedRef {
  blobRef: string;
  size: number;
}

/**
 * Rows: one per stored blob, keyed by blobref. Every read is strongly consistent (a read
 * that starts after a write or delete was acknowledged sees it).
 */
export interface BlobIndex {
  /** The rows of those of `refs` that are indexed (refs may repeat; any number of refs). */
  get(refs: readonly string[]): Promise<Map<string, BlobRow>>;
  /**
   * Up to `count` rows with blobRef strictly greater than `after` (any string), in blobref
   * order; with `within`, only refs starting with it (fsck's row partitions), so the listing
   * ends with the prefix instead of walking on through the following shards.
   */
  list(after: string, count: number, within?: string): Promise<BlobRow[]>;
  /**
   * Writes rows, inserting or overwriting (last writer wins), and answers the refs whose row
   * could not be written (the others are durable). No write is sent after `sendBy` (epoch ms;
   * default: the earliest `storedAt` + ROW_WRITE_WINDOW_MS): past it the rows are reported
   * failed instead, which bounds how late a retried write can land (see blob-storage.ts).
   */
  put(rows: readonly BlobRow[], sendBy?: number): Promise<string[]>;
  /** Deletes ref's row only if it still points at `key`; false when it was gone or points elsewhere. */
  deleteIf(ref: string, key: string): Promise<boolean>;
  /**
   * Replaces ref's row only if it still points at `oldKey` (never recreates a removed row);
   * with `oldKey` null, writes it only if ref has no row. False when the condition failed.
   */
  replaceIf(row: BlobRow, oldKey: string | null): Promise<boolean>;
}

export interface StoredObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

/**
 * Objects: immutable byte strings under unique keys. An object is written once, whole, and
 * never overwritten; reads see either the whole object or none (S3's strong read-after-write).
 */
export interface BlobStore {
  /** Creates the object; rejects (and changes nothing) if the key already exists. */
  create(key: string, body: Buffer): Promise<void>;
  /**
   * The object's bytes, or `length` bytes from `offset`; undefined when the object is missing.
   * A range past the end yields fewer bytes (callers compare lengths).
   */
  read(key: string, range?: { offset: number; length: number }): Promise<Buffer | undefined>;
  /** The object's size, or undefined when it is missing. */
  size(key: string): Promise<number | undefined>;
  /**
   * Copies an existing object to a new key (same no-overwrite rule as create). With `ifMatch`
   * (an ETag, as S3 reports it), only if the source is still that version; otherwise rejects
   * with a PreconditionFailed error.
   */
  copy(fromKey: string, toKey: string, ifMatch?: string): Promise<void>;
  /** Deletes the object; deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<StoredObjectInfo>;
  /** A short-lived URL that lets its holder GET the whole object. */
  presignedGetUrl(key: string, ttlSeconds: number): Promise<string>;
  /**
   * A short-lived URL for `length` bytes of the object from `offset`, with the Range header
   * the holder must send: the Range is signed, so the URL grants exactly those bytes.
   */
  presignedRangeUrl(key: string, range: { offset: number; length: number }, ttlSeconds: number): Promise<{ url: string; headers: Record<string, string> }>;
  /** When the credentials that sign URLs expire (undefined: long-lived keys). */
  signingExpiration(): Promise<Date | undefined>;
  /**
   * Earlier versions of deleted or replaced objects, where the store keeps them (a versioned S3
   * bucket: the stack's recovery window); undefined where it keeps none (s3rver).
   */
  readonly versions?: ObjectVersions | undefined;
}

/** One noncurrent version of an object. */
export interface ObjectVersion {
  versionId: string;
  size: number;
  lastModified: Date;
}

/** The recovery window (docs/storage-model.md): fsck --repair restores a damaged row's object from it. */
export interface ObjectVersions {
  /** The noncurrent versions of exactly `key` (no delete markers, not the current version), newest first. */
  noncurrent(key: string): Promise<ObjectVersion[]>;
  /** That version's bytes; undefined when it is gone (expired meanwhile). */
  read(key: string, versionId: string): Promise<Buffer | undefined>;
  /** Makes a copy of that version the current object at `key`, whatever is current there. */
  restore(key: string, versionId: string): Promise<void>;
}
