import { randomBytes } from 'node:crypto';

/**
 * S3 key layout (no SDK import: the CDK stack grants on these prefixes). Every key written
 * today is unique (a random id nobody else will draw), so an object is written exactly once.
 *
 *   packs/<yyyy-mm-dd>/<id>   the small blobs of one upload request, concatenated
 *   blobs/<ref>/<id>          one large blob (or the only new blob of a request)
 *   blobs/<ref>               legacy: one blob, written by the first storage model
 */
export const BLOB_PREFIX = 'blobs/';
export const PACK_PREFIX = 'packs/';
/** Large-blob form uploads before they are verified (staging.ts); expired by a lifecycle rule. */
export const STAGING_PREFIX = 'staging/';
/** The store's generation (storage-generation.ts), outside every blob prefix. */
export const GENERATION_KEY = 'meta/storage-generation.json';
/** A collection run's scratch objects (fsck/scratch.ts), `fsck-runs/<run id>/...`; expired by a lifecycle rule. */
export const FSCK_RUNS_PREFIX = 'fsck-runs/';

/** Unguessable and collision-free in practice: 96 random bits. */
function newId(): string {
  return randomBytes(12).toString('hex');
}

export function newBlobKey(ref: string): string {
  return `${BLOB_PREFIX}${ref}/${newId()}`;
}

export function newPackKey(now: Date): string {
  return `${PACK_PREFIX}${now.toISOString().slice(0, 10)}/${newId()}`;
}

/** Where the first storage model kept a blob (rows written then carry no key). */
export function legacyBlobKey(ref: string): string {
  return `${BLOB_PREFIX}${ref}`;
}

/** Whether `key` is an object holding only `ref`'s bytes (so no other blob's row can point at it). */
export function isSingleBlobKey(key: string, ref: string): boolean {
  return key === legacyBlobKey(ref) || key.startsWith(`${legacyBlobKey(ref)}/`);
}

/** Whether `key` is where the first storage model kept a blob (`blobs/<ref>`, no id). */
export function isLegacyBlobKey(key: string): boolean {
  return key.startsWith(BLOB_PREFIX) && !key.slice(BLOB_PREFIX.length).includes('/');
}

export function isPackKey(key: string): boolean {
  return key.startsWith(PACK_PREFIX);
}
