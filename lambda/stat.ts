import { authenticate } from './core/auth.js';
import type { Deps } from './core/deps.js';
import { CAMLI_JSON, json, type Handler } from './core/http.js';
import { statRequest } from './core/stat.js';

/**
 * GET (query) or POST (form) /camli/stat: which of these blobs are stored, and their sizes.
 * We never long-poll, so `maxwaitsec` is ignored and `canLongPoll` is false.
 */
export function statHandler(deps: Deps): Handler {
  return async (event) => {
    authenticate(event, await deps.credentials());
    return json(200, { stat: await statRequest(deps, event), canLongPoll: false }, CAMLI_JSON);
  };
}
