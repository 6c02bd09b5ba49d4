import { authenticate } from './core/auth.js';
import { parseBlobRef } from './core/blobref.js';
import type { Deps } from './core/deps.js';
import { HttpError, type Handler, type HttpResult } from './core/http.js';
import { PRESIGNED_GET_TTL_SECONDS } from './core/limits.js';

/**
 * The size travels in its own header too: API Gateway owns Content-Length (it is a reserved
 * header there), so on a HEAD it cannot be relied on to carry the blob's length.
 */
export const BLOB_SIZE_HEADER = 'x-camli-blob-size';

/** Blobs are immutable (content-addressed): a fetched copy never goes stale. */
const IMMUTABLE = 'private, max-age=31536000, immutable';

/**
 * GET and HEAD /camli/{blobref}. Only blobs the index says are stored are served (never
 * bytes without a row). Blobs too large for a buffered Lambda response are answered with a
 * 307 to a short-lived presigned S3 URL, which Perkeep's client follows.
 */
export function getBlobHandler(deps: Deps): Handler {
  return async (event): Promise<HttpResult> => {
    authenticate(event, await deps.credentials());
    const raw = event.pathParameters?.blobref ?? '';
    const ref = parseBlobRef(raw);
    if (!ref) throw new HttpError(400, `not a valid blobref: ${JSON.stringify(raw.slice(0, 100))}`);
    const row = await deps.storage.locate(ref.ref);
    if (!row) throw new HttpError(404, `blob ${ref.ref} not found`);
    const size = row.size;

    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size), [BLOB_SIZE_HEADER]: String(size) };
    if (event.requestContext.http.method === 'HEAD') return { statusCode: 200, headers };
    // Packed blobs (never above the inline limit when written) have no object of their own to redirect to.
    const location = size > deps.settings.maxInlineGetSize ? await deps.storage.presignedUrl(row, PRESIGNED_GET_TTL_SECONDS) : undefined;
    if (location) return { statusCode: 307, headers: { location, 'cache-control': 'no-store', [BLOB_SIZE_HEADER]: String(size) } };
    // Digest-checked: bytes that are not the blob are an error (500), never served.
    const blob = await deps.storage.readBlob(ref.ref, undefined, row);
    // Removed between the row read and now (removal deletes the row first).
    if (!blob) throw new HttpError(404, `blob ${ref.ref} not found`);
    const bytes = blob.bytes;
    return {
      statusCode: 200,
      headers: { ...headers, 'cache-control': IMMUTABLE },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    };
  };
}
