import { authenticate } from './core/auth.js';
import { formParams, parseBlobList } from './core/blob-form.js';
import type { Deps } from './core/deps.js';
import { json, type Handler } from './core/http.js';
import { freshUploadUrl } from './core/upload-url.js';

/**
 * POST /camli/preupload: which of these blobs do you already have, and where do I upload
 * the rest? Answers from strongly consistent index reads with a fresh signed upload URL.
 */
export function preuploadHandler(deps: Deps): Handler {
  return async (event) => {
    const principal = authenticate(event, await deps.credentials());
    const refs = parseBlobList(formParams(event));
    const sizes = await deps.index.sizes(refs);
    const alreadyHave = refs.filter((r) => sizes.has(r)).map((r) => ({ blobRef: r, size: sizes.get(r)! }));
    return json(200, { alreadyHave, ...(await freshUploadUrl(deps, event, principal)) }, 'text/javascript');
  };
}
