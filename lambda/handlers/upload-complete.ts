import type { RouteHandler } from '../core/routing/authorise.js';
import { completeStagedUpload } from '../core/upload/complete-upload.js';
import type { Deps } from '../core/deps.js';
import { json } from '../core/http/http.js';
import { freshUploadUrl } from '../core/upload/upload-url.js';

/**
 * GET /camli/upload-complete/{token}: where S3 redirects (303) a client whose `uploadForm`
 * POST was stored. The token (from the form's signed policy) is the only credential. Answers
 * the seed's upload JSON; a fresh upload URL and form only when the blob is stored, so a
 * refused upload never extends a capability.
 */
export function uploadCompleteHandler(deps: Deps): RouteHandler<'completionToken'> {
  return async (event, grant) => {
    const query = event.queryStringParameters ?? {};
    const { status, received, errorText } = await completeStagedUpload(deps, grant, { bucket: query['bucket'], key: query['key'] });
    return json(
      status,
      {
        received,
        ...(received.length > 0 ? await freshUploadUrl(deps, event, grant.principal) : { maxUploadSize: deps.settings.maxUploadSize }),
        ...(errorText !== undefined ? { errorText } : {}),
      },
      'text/plain; charset=utf-8',
      // A replay must reach us, never a cache: the answer mints fresh capabilities.
      { 'cache-control': 'no-store' },
    );
  };
}
