import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { DISCOVERY_MEDIA_TYPE, discoveryDocument, wantsDiscovery } from '../core/read/discovery.js';
import { CAMLI_JSON, json } from '../core/http/http.js';
import { REFUSE } from '../core/http/errors.js';

/**
 * GET /: the discovery document for Perkeep clients (which insist on exactly
 * `Content-Type: text/javascript`), or a pointer to it for anyone else.
 */
export function rootHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event, caller) => {
    // GET /{namespace}/{rest+} is the namespace's root spelled `/<name>/`, and nothing deeper.
    if (event.pathParameters?.['rest']) throw REFUSE.noSuchEndpoint(`${event.requestContext.http.method} ${event.rawPath}`);
    if (wantsDiscovery(event)) {
      const generation = await deps.storageGeneration().catch((err: unknown) => {
        deps.log.warn('storage generation unavailable; discovery goes without it', { error: err as Error });
        return undefined;
      });
      return json(200, discoveryDocument(event, caller.principal, generation, deps.namespace), CAMLI_JSON);
    }
    return {
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: `Perkeep-compatible blob server. Discovery: GET / with Accept: ${DISCOVERY_MEDIA_TYPE} (or ?camli.mode=config).\n`,
    };
  };
}
