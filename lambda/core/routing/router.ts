import type { Deps } from '../deps.js';
import { HttpError, REFUSE } from '../http/errors.js';
import { errorResult, type Handler, type HttpEvent, type HttpResult } from '../http/http.js';
import { CALLERS } from './callers.js';

/**
 * Dispatches on the API Gateway route key and turns every failure into a JSON answer:
 * HttpError -> its status, code and message; anything else -> 500 without internals, logged
 * with the request id.
 */
export function createRouter(routes: Record<string, Handler>, deps: Pick<Deps, 'log' | 'metrics'>): Handler {
  const dispatch = async (event: HttpEvent): Promise<HttpResult> => {
    const requestId = event.requestContext?.requestId;
    const handler = routes[event.routeKey];
    if (!handler) return errorResult(REFUSE.noSuchEndpoint(event.routeKey));
    try {
      return await handler(event);
    } catch (err) {
      if (err instanceof HttpError) return errorResult(err);
      deps.log.error('request failed', { requestId, routeKey: event.routeKey, error: err as Error });
      return errorResult(REFUSE.internal(requestId, err));
    }
  };
  return async (event) => {
    const started = performance.now();
    const result = await dispatch(event);
    // The audit line: every request, with the credential it was made with (its id, never its secret).
    deps.log.info('request', {
      requestId: event.requestContext?.requestId,
      routeKey: event.routeKey,
      // Not the path: a signed URL's token is a capability, and has no place in logs.
      namespace: event.pathParameters?.['namespace'] ?? '/',
      status: result.statusCode ?? 200,
      credential: CALLERS.get(event) ?? 'none',
    });
    const metrics = deps.metrics;
    // Units as Powertools spells them (its MetricUnit), not imported: the router loads at a cold start, Powertools after it.
    if (metrics) {
      const status = result.statusCode ?? 200;
      metrics.addMetric('Requests', 'Count', 1);
      metrics.addMetric('Latency', 'Milliseconds', performance.now() - started);
      if (status >= 400) metrics.addMetric(status >= 500 ? 'ServerErrors' : 'ClientErrors', 'Count', 1);
      metrics.publishStoredMetrics(); // also flushes what the handler recorded (blobs, bytes, rejects)
    }
    return result;
  };
}
