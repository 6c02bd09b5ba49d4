import type { Deps } from './deps.js';
import { HttpError, errorResult, type Handler, type HttpEvent, type HttpResult } from './http.js';

/**
 * Dispatches on the API Gateway route key and turns every failure into a JSON answer:
 * HttpError -> its status and message; anything else -> 500 without internals, logged
 * with the request id.
 */
export function createRouter(routes: Record<string, Handler>, deps: Pick<Deps, 'log'>): Handler {
  return async (event: HttpEvent): Promise<HttpResult> => {
    const requestId = event.requestContext?.requestId;
    const handler = routes[event.routeKey];
    if (!handler) return errorResult(404, `no such endpoint: ${event.routeKey}`);
    try {
      return await handler(event);
    } catch (err) {
      if (err instanceof HttpError) return errorResult(err.status, err.message, err.headers);
      deps.log.error('request failed', { requestId, routeKey: event.routeKey, error: err as Error });
      return errorResult(500, `internal server error (request id ${requestId})`);
    }
  };
}
