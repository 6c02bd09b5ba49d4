import { randomBytes } from 'node:crypto';
import type { Namespace } from '../namespace.js';

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

/** Where named namespaces keep their objects: `ns/<name>/<key as the root namespace names it>`. */
export const NAMESPACES_PREFIX = 'ns/';

/**
 * The bucket key of a namespace's object `key` (keys inside a namespace, and in its rows, are
 * spelled as the root namespace spells its own). The root namespace's keys are unchanged. A named
 * namespace's keys go under `ns/<name>/`, except two folders that hold short-lived objects under
 * unguessable ids, kept at the bucket's top level so its lifecycle rules (which take a literal
 * prefix, never a wildcard) expire them whatever the namespace: `staging/<id>/` (shared: only
 * the completion token signed for this namespace names `<id>`, auth/tokens.ts) and fsck's scratch
 * `fsck-runs/` (as `fsck-runs/ns/<name>/...`, so runs of two namespaces never mix).
 */
export function bucketKey(ns: Namespace, key: string): string {
  if (!ns.name || key.startsWith(STAGING_PREFIX)) return key;
  if (key.startsWith(FSCK_RUNS_PREFIX)) return `${FSCK_RUNS_PREFIX}${NAMESPACES_PREFIX}${ns.name}/${key.slice(FSCK_RUNS_PREFIX.length)}`;
  return `${namespaceKeyPrefix(ns)}${key}`;
}

/**
 * The same key in every named namespace, as an IAM resource or `s3:prefix` pattern (`*` spans
 * `/`): what the stack grants beside each root key pattern, so one grant covers every namespace.
 */
export function inEveryNamespace(pattern: string): string {
  return `${NAMESPACES_PREFIX}*/${pattern}`;
}

/** The namespace's own spelling of a bucket key bucketKey made (the inverse; undefined for keys not its own). */
export function namespaceKey(ns: Namespace, bucket: string): string | undefined {
  if (!ns.name || bucket.startsWith(STAGING_PREFIX)) return bucket;
  const scratch = `${FSCK_RUNS_PREFIX}${NAMESPACES_PREFIX}${ns.name}/`;
  if (bucket.startsWith(scratch)) return `${FSCK_RUNS_PREFIX}${bucket.slice(scratch.length)}`;
  const own = namespaceKeyPrefix(ns);
  return bucket.startsWith(own) ? bucket.slice(own.length) : undefined;
}

/** `ns/<name>/` for a named namespace, '' for the root. */
export function namespaceKeyPrefix(ns: Namespace): string {
  return ns.name ? `${NAMESPACES_PREFIX}${ns.name}/` : '';
}

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
