import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { json } from '../core/http/http.js';
import { receiveUpload } from '../core/upload/upload-request.js';
import { freshUploadUrl, sameUploadUrl } from '../core/upload/upload-url.js';

/**
 * POST /camli/upload/{token}: the seed protocol's upload. The signed URL token is the only
 * credential. Every part is verified against its blobref before anything is stored.
 * A fresh URL is minted only when the request stored something; otherwise the answer names
 * the same URL with the seconds it has left, so a leaked URL cannot be kept alive for free.
 */
export function signedUploadHandler(deps: Deps): RouteHandler<'uploadToken'> {
  return async (event, grant) => {
    const { received, errorText } = await receiveUpload(deps, event);
    return json(
      200,
      {
        received,
        ...(received.length > 0 ? await freshUploadUrl(deps, event, grant.principal) : await sameUploadUrl(deps, event, grant)),
        ...(errorText !== undefined ? { errorText } : {}),
      },
      'text/plain; charset=utf-8',
    );
  };
}
