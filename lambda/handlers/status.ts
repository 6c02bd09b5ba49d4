import type { Deps } from '../core/deps.js';
import { CAMLI_JSON, json } from '../core/http.js';
import type { RouteHandler } from '../core/authorise.js';

/** GET /status/status.json, under the statusRoot that discovery advertises. */
export function statusHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    return json(200, { version: 'camli-serverless-blobserver', errors: [] }, CAMLI_JSON);
  };
}
