import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { enumeratePage, parseEnumerateQuery } from '../core/read/enumerate.js';
import { CAMLI_JSON, json } from '../core/http/http.js';

/**
 * GET /camli/enumerate-blobs?after=&limit=: stored blobs in blobref order, strictly after
 * `after`. We never long-poll, so `maxwaitsec` is ignored and `canLongPoll` is false.
 */
export function enumerateHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    const query = parseEnumerateQuery(new URLSearchParams(event.rawQueryString ?? ''));
    return json(200, { ...(await enumeratePage(deps.storage, query)), canLongPoll: false }, CAMLI_JSON);
  };
}
