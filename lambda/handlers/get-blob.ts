import type { RouteHandler } from '../core/routing/authorise.js';
import { parseBlobRef } from '../core/blobref.js';
import { planGet } from '../core/http/conditional-get.js';
import type { Deps } from '../core/deps.js';
import { REFUSE } from '../core/http/errors.js';
import { header, type HttpResult } from '../core/http/http.js';
import { PRESIGNED_GET_TTL_SECONDS } from '../core/limits.js';

/**
 * The size travels in its own header too: API Gateway owns Content-Length (it is a reserved
 * header there), so on a HEAD it cannot be relied on to carry the blob's length.
 */
const BLOB_SIZE_HEADER = 'x-camli-blob-size';

/**
 * A blob is arbitrary bytes under application/octet-stream: a browser must never sniff it
 * into HTML or script (a stored HTML blob opened from the API's origin would run there).
 */
const NO_SNIFF = { 'x-content-type-options': 'nosniff' };

/** Blobs are immutable (content-addressed): a fetched copy never goes stale. */
const IMMUTABLE = 'private, max-age=31536000, immutable';

/**
 * GET and HEAD /camli/{blobref}. Only blobs the index says are stored are served (never
 * bytes without a row). Blobs too large for a buffered Lambda response are answered with a
 * 307 to a short-lived presigned S3 URL, which Perkeep's client follows. ETag, If-None-Match
 * and a single Range are honoured (conditional-get.ts decides).
 */
export function getBlobHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event): Promise<HttpResult> => {
    const raw = event.pathParameters?.['blobref'] ?? '';
    const ref = parseBlobRef(raw);
    if (!ref) throw REFUSE.invalidBlobRef(raw);
    const row = await deps.storage.locate(ref.ref);
    if (!row) throw REFUSE.blobNotFound(ref.ref);
    const size = row.size;

    const method = event.requestContext.http.method;
    const plan = planGet(
      { method, ifNoneMatch: header(event, 'if-none-match'), range: header(event, 'range'), ifRange: header(event, 'if-range') },
      ref.ref,
      size,
    );
    if (plan.status === 304) return { statusCode: 304, headers: { ...plan.headers, 'cache-control': IMMUTABLE } };
    if (plan.status === 416) throw REFUSE.rangeNotSatisfiable(ref.ref, size, plan.headers);
    const headers = { 'content-type': 'application/octet-stream', ...NO_SNIFF, [BLOB_SIZE_HEADER]: String(size), ...plan.headers };
    if (method === 'HEAD') return { statusCode: 200, headers };
    // Packed blobs (never above the inline limit when written) have no object of their own to redirect to.
    const location = size > deps.settings.maxInlineGetSize ? await deps.storage.presignedUrl(row, PRESIGNED_GET_TTL_SECONDS) : undefined;
    if (location) return { statusCode: 307, headers: { location, 'cache-control': 'no-store', [BLOB_SIZE_HEADER]: String(size) } };
    // The whole blob, digest-checked (bytes that are not the blob are a 500, never served);
    // a 206 is sliced from it, so a range is never served unverified either.
    const blob = await deps.storage.readBlob(ref.ref, undefined, row);
    // Removed between the row read and now (removal deletes the row first); a blob a repack
    // moved meanwhile is followed to its new place (storage/row-follow.ts), never a 404.
    if (!blob) throw REFUSE.blobNotFound(ref.ref);
    const bytes = blob.bytes;
    return {
      statusCode: plan.status,
      headers: { ...headers, 'cache-control': IMMUTABLE },
      body: (plan.status === 206 ? bytes.subarray(plan.range.start, plan.range.end + 1) : bytes).toString('base64'),
      isBase64Encoded: true,
    };
  };
}
