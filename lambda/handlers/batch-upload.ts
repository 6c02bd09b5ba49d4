import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { CAMLI_JSON, json } from '../core/http/http.js';
import { receiveUpload } from '../core/upload/upload-request.js';

/**
 * POST /camli/upload: Perkeep's batch upload, the same engine as the signed upload URL but
 * authorised by the caller's HTTP Basic credentials. Answered directly with 200 (never the
 * optional 303: Perkeep's client follows that without credentials).
 */
export function batchUploadHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    return json(200, await receiveUpload(deps, event), CAMLI_JSON);
  };
}
