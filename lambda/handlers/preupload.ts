import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { CAMLI_JSON, json } from '../core/http/http.js';
import { formParams, parseBlobList } from '../core/http/blob-form.js';
import { statRequest } from '../core/read/stat.js';
import { refuseWhenFull } from '../core/upload/quota-check.js';
import { freshUploadUrl } from '../core/upload/upload-url.js';

/**
 * POST /camli/preupload: which of these blobs do you already have, and where do I upload
 * the rest? The stat answer (strongly consistent index reads) with a fresh signed upload URL;
 * 507 when the namespace's quota has no room for the rest (quota-check.ts).
 */
export function preuploadHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event, caller) => {
    const alreadyHave = await statRequest(deps, event);
    await refuseWhenFull(deps.storage.usage, parseBlobList(formParams(event)).length - alreadyHave.length);
    return json(200, { alreadyHave, ...(await freshUploadUrl(deps, event, caller.principal)) }, CAMLI_JSON);
  };
}
