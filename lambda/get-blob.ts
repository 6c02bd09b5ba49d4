import { authenticate } from './core/auth.js';
import { hasherFor, parseBlobRef } from './core/blobref.js';
import { planGet } from './core/conditional-get.js';
import type { Deps } from './core/deps.js';
import { HttpError, errorResult, header, type Handler, type HttpResult } from './core/http.js';
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
 * 307 to a short-lived presigned S3 URL, which Perkeep's client follows. ETag, If-None-Match
 * and a single Range are honoured (conditional-get.ts decides).
 */
export function getBlobHandler(deps: Deps): Handler {
  return async (event): Promise<HttpResult> => {
    authenticate(event, await deps.credentials());
    const raw = event.pathParameters?.blobref ?? '';
    const ref = parseBlobRef(raw);
    if (!ref) throw new HttpError(400, `not a valid blobref: ${JSON.stringify(raw.slice(0, 100))}`);
    const size = await deps.index.size(ref.ref);
    if (size === undefined) throw new HttpError(404, `blob ${ref.ref} not found`);

    const method = event.requestContext.http.method;
    const plan = planGet(
      { method, ifNoneMatch: header(event, 'if-none-match'), range: header(event, 'range'), ifRange: header(event, 'if-range') },
      ref.ref,
      size,
    );
    if (plan.status === 304) return { statusCode: 304, headers: { ...plan.headers, 'cache-control': IMMUTABLE } };
    if (plan.status === 416) return errorResult(416, `range not satisfiable: blob ${ref.ref} has ${size} bytes`, plan.headers);
    const headers = { 'content-type': 'application/octet-stream', [BLOB_SIZE_HEADER]: String(size), ...plan.headers };
    if (method === 'HEAD') return { statusCode: 200, headers };
    if (size > deps.settings.maxInlineGetSize) {
      const location = await deps.store.presignedGetUrl(ref.ref, PRESIGNED_GET_TTL_SECONDS);
      return { statusCode: 307, headers: { location, 'cache-control': 'no-store', [BLOB_SIZE_HEADER]: String(size) } };
    }
    const bytes = await deps.store.get(ref.ref);
    // Removed between the index read and now (removal deletes the row first).
    if (!bytes) throw new HttpError(404, `blob ${ref.ref} not found`);
    // Cheap next to the transfer, and it means we never serve bytes that are not the blob.
    if (bytes.length !== size || hasherFor(ref).update(bytes).digest('hex') !== ref.digest) {
      throw new Error(`stored object for ${ref.ref} does not match its blobref (${bytes.length} bytes, index says ${size})`);
    }
    return {
      statusCode: plan.status,
      headers: { ...headers, 'cache-control': IMMUTABLE },
      body: (plan.status === 206 ? bytes.subarray(plan.range.start, plan.range.end + 1) : bytes).toString('base64'),
      isBase64Encoded: true,
    };
  };
}
