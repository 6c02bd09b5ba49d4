import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { CAMLI_JSON, json } from '../core/http/http.js';
import { statRequest } from '../core/read/stat.js';

/**
 * GET (query) or POST (form) /camli/stat: which of these blobs are stored, and their sizes.
 * We never long-poll, so `maxwaitsec` is ignored and `canLongPoll` is false.
 */
export function statHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    return json(200, { stat: await statRequest(deps, event), canLongPoll: false }, CAMLI_JSON);
  };
}
