import { isBlobRef } from '../blobref.js';
import { REFUSE } from './errors.js';
import { bodyBytes, header, type HttpEvent } from './http.js';
import { MAX_REFS_PER_REQUEST } from '../limits.js';

/**
 * The `camliversion=1&blob1=..&blobN=..` form shared by preupload, stat and remove, read from
 * an urlencoded POST body or (for GET) the query string.
 */
export function formParams(event: HttpEvent): URLSearchParams {
  if (event.requestContext.http.method !== 'POST') return new URLSearchParams(event.rawQueryString ?? '');
  const type = (header(event, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== '' && type !== 'application/x-www-form-urlencoded') {
    throw REFUSE.formExpected(type);
  }
  return new URLSearchParams(bodyBytes(event).toString('utf8'));
}

/**
 * The requested blobrefs, in order and without duplicates. Keys are numbered from blob1 and
 * reading stops at the first missing number; more than MAX_REFS_PER_REQUEST is refused.
 */
export function parseBlobList(params: URLSearchParams, opts: { requireVersion?: boolean } = {}): string[] {
  if ((opts.requireVersion ?? true) && params.get('camliversion') !== '1') {
    throw REFUSE.camliversionRequired();
  }
  const refs = new Set<string>();
  for (let n = 1; params.has(`blob${n}`); n++) {
    if (n > MAX_REFS_PER_REQUEST) throw REFUSE.tooManyBlobs(MAX_REFS_PER_REQUEST);
    const value = params.get(`blob${n}`)!;
    if (!isBlobRef(value)) throw REFUSE.invalidBlobRef(value, `blob${n}`);
    refs.add(value);
  }
  return [...refs];
}
