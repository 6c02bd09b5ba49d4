import type { Deps } from './core/deps.js';
import { json, type Handler } from './core/http.js';
import { receiveUpload } from './core/upload-request.js';
import { freshUploadUrl, principalOfUploadToken } from './core/upload-url.js';

/**
 * POST /camli/upload/{token}: the seed protocol's upload. The signed URL token is the only
 * credential. Every part is verified against its blobref before anything is stored.
 */
export function uploadHandler(deps: Deps): Handler {
  return async (event) => {
    const principal = await principalOfUploadToken(deps, event.pathParameters?.token);
    const { received, errorText } = await receiveUpload(deps, event);
    return json(
      200,
      {
        received,
        ...(await freshUploadUrl(deps, event, principal)),
        ...(errorText !== undefined ? { errorText } : {}),
      },
      'text/plain; charset=utf-8',
    );
  };
}
