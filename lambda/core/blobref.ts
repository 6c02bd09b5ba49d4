import { createHash, type Hash } from 'node:crypto';

/** Hash functions we accept, with the hex length of their digests. sha224 is Perkeep's default. */
const HASHES = { sha224: 56, sha1: 40 } as const;
export type HashName = keyof typeof HASHES;
export const SUPPORTED_HASHES = Object.keys(HASHES) as HashName[];

const BLOBREF = /^(sha1|sha224)-([0-9a-f]+)$/;

export interface BlobRef {
  hash: HashName;
  digest: string;
  /** The canonical string form, `<hash>-<hex>`. */
  ref: string;
}

/** Parses a blobref; anything but a supported hash with a lowercase hex digest of the right length is undefined. */
export function parseBlobRef(s: string): BlobRef | undefined {
  const m = BLOBREF.exec(s);
  if (!m) return undefined;
  const hash = m[1] as HashName;
  const digest = m[2]!;
  if (digest.length !== HASHES[hash]) return undefined;
  return { hash, digest, ref: s };
}

export function isBlobRef(s: string): boolean {
  return parseBlobRef(s) !== undefined;
}

/** A streaming hasher for the blob's own hash function. */
export function hasherFor(ref: BlobRef): Hash {
  return createHash(ref.hash);
}

/** The blobref of some bytes under the given hash. */
export function blobRefOf(bytes: Uint8Array, hash: HashName = 'sha224'): string {
  return `${hash}-${createHash(hash).update(bytes).digest('hex')}`;
}

/** Whether `bytes` are the blob `ref` names (false for a ref that does not parse). */
export function digestMatches(ref: string, bytes: Buffer): boolean {
  const parsed = parseBlobRef(ref);
  return parsed !== undefined && hasherFor(parsed).update(bytes).digest('hex') === parsed.digest;
}
