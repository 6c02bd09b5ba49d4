import { verifies } from '../blobref.js';
import { blobRefOf } from '../hash.js';
import { decryptBlob, EncryptionError, encryptBlob, type AgeKey } from './format.js';

/**
 * One blob's age work, whole: encrypt and name the ciphertext (its sha224 ref), or decrypt
 * and check the plaintext against the ref and size the meta gives. The same functions run
 * inline (the page's worker, or no worker threads wanted) and inside the pool's worker
 * threads (age-pool.ts), so the bytes and refs are the same either way.
 */

export interface Sealed {
  /** The ciphertext's blobref (sha224). */
  ref: string;
  /** `0x02 || age(plaintext)`. */
  bytes: Uint8Array;
}

export interface Opened {
  plaintext: Uint8Array;
  /** Whether the plaintext is `expect`'s ref and size (true when nothing was expected). */
  matches: boolean;
}

export interface Expected {
  ref: string;
  size: number;
}

/** Where age work runs: inline, or a pool of worker threads. */
export interface AgeWork {
  seal(key: AgeKey, plaintext: Uint8Array): Promise<Sealed>;
  /** Refuses (EncryptionError, `what` naming the blob) a blob that is not ours or fails authentication. */
  open(key: AgeKey, sealed: Uint8Array, what: string, expect?: Expected): Promise<Opened>;
}

export async function sealInline(key: AgeKey, plaintext: Uint8Array): Promise<Sealed> {
  const bytes = await encryptBlob(key, plaintext);
  return { ref: blobRefOf(bytes), bytes };
}

export async function openInline(key: AgeKey, sealed: Uint8Array, what: string, expect?: Expected): Promise<Opened> {
  const plaintext = await decryptBlob(key, sealed, what);
  return { plaintext, matches: !expect || (plaintext.length === expect.size && verifies(expect.ref, plaintext)) };
}

/** Age work on the calling thread. */
export const inlineAgeWork: AgeWork = { seal: sealInline, open: openInline };

/** What a worker thread reports for a failed job, rebuilt as the same error class on the caller's side. */
export interface WorkFailure {
  message: string;
  refusal: boolean;
}

export function failureOf(err: unknown): WorkFailure {
  return { message: err instanceof Error ? err.message : String(err), refusal: err instanceof EncryptionError };
}

export function errorOf(f: WorkFailure): Error {
  return f.refusal ? new EncryptionError(f.message) : new Error(f.message);
}
