import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { CAMLI_JSON, json } from '../core/http/http.js';
import { statRequest } from '../core/read/stat.js';
import { freshUploadUrl } from '../core/upload/upload-url.js';

/**
 * POST /camli/preupload: which of these blobs do you already have, and where do I upload
 * the rest? The stat answer (strongly consistent index reads) with a fresh signed upload URL.
 */
export function preuploadHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event, caller) => {
    const alreadyHave = await statRequest(deps, event);
    return json(200, { alreadyHave, ...(await freshUploadUrl(deps, event, caller.principal)) }, CAMLI_JSON);
  };
}
