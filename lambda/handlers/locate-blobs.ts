import type { RouteHandler } from '../core/routing/authorise.js';
import { formParams, parseBlobList } from '../core/http/blob-form.js';
import type { Deps } from '../core/deps.js';
import { CAMLI_JSON, json } from '../core/http/http.js';
import { locateBlobs } from '../core/read/locate.js';

/**
 * POST /camli/locate (our extension, advertised in discovery as `locateBlobsRoot`): the
 * `blob1..N` form of stat (at most 1,000 refs, 400 on a bad one), answered with where each
 * blob's bytes are (lambda/core/read/locate.ts). The same authorisation as GET /camli/<ref>.
 */
export function locateHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    const refs = parseBlobList(formParams(event), { requireVersion: false });
    return json(200, await locateBlobs(deps, refs), CAMLI_JSON);
  };
}
