import { createHasher, type HashName } from './hash.js';

/** A blob: its bytes and the ref naming them. */
export interface BlobData {
  ref: string;
  bytes: Uint8Array;
}

/** Blobrefs as the server accepts them: `sha224-` + 56 or `sha1-` + 40 lower-case hex digits. */
const BLOBREF = /^(?:sha224-[0-9a-f]{56}|sha1-[0-9a-f]{40})$/;

export function isBlobRef(s: string): boolean {
  return BLOBREF.test(s);
}

/** The hash a blobref names. */
export function hashOf(ref: string): HashName {
  return ref.startsWith('sha1-') ? 'sha1' : 'sha224';
}

/** Whether these bytes are the content `ref` names. */
export function verifies(ref: string, data: Uint8Array): boolean {
  return `${hashOf(ref)}-${createHasher(hashOf(ref)).update(data).hex()}` === ref;
}
