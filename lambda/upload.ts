import type { Deps } from './core/deps.js';
import { HttpError, bodyBytes, header, json, type Handler } from './core/http.js';
import { MAX_BLOB_SIZE } from './core/limits.js';
import { multipartBoundary, readBlobParts } from './core/multipart.js';
import { storeVerifiedBlobs } from './core/receive.js';
import { freshUploadUrl, principalOfUploadToken } from './core/upload-url.js';

/**
 * POST /camli/upload/{token}: the seed protocol's upload. The signed URL token is the only
 * credential. Every part is verified against its blobref before anything is stored.
 */
export function uploadHandler(deps: Deps): Handler {
  return async (event) => {
    const principal = await principalOfUploadToken(deps, event.pathParameters?.token);
    const body = bodyBytes(event);
    if (body.length > deps.settings.maxUploadSize) {
      throw new HttpError(413, `request body of ${body.length} bytes exceeds maxUploadSize ${deps.settings.maxUploadSize}`);
    }
    const contentType = header(event, 'content-type');
    multipartBoundary(contentType); // 400 before any work if this is not multipart
    const parsed = await readBlobParts(body, contentType, MAX_BLOB_SIZE);
    const stored = await storeVerifiedBlobs(parsed.blobs, deps.index, deps.store, deps.log);
    const errors = [...parsed.refused, ...stored.errors];
    return json(
      200,
      {
        received: stored.received,
        ...(await freshUploadUrl(deps, event, principal)),
        ...(errors.length ? { errorText: errors.join('\n') } : {}),
      },
      'text/plain; charset=utf-8',
    );
  };
}
