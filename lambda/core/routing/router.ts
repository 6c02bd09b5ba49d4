import type { Authorisation } from './authorisation.js';
import { AUTHORISE, type RouteHandler } from './authorise.js';
import type { Deps } from '../deps.js';
import { HttpError, REFUSE } from '../http/errors.js';
import { errorResult, type Handler, type HttpEvent, type HttpResult } from '../http/http.js';
import { MetricUnit } from '../telemetry.js';

/**
 * A route's handler behind its authorisation: the only place credentials and tokens are
 * checked, so no endpoint can forget to.
 */
export function authorised<A extends Authorisation>(auth: A, deps: Deps, handler: RouteHandler<A>): Handler {
  const authorise = AUTHORISE[auth] as (deps: Deps, event: HttpEvent) => Promise<Parameters<RouteHandler<A>>[1]>;
  return async (event) => handler(event, await authorise(deps, event));
}

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
    const metrics = deps.metrics;
    if (metrics) {
      const status = result.statusCode ?? 200;
      metrics.addMetric('Requests', MetricUnit.Count, 1);
      metrics.addMetric('Latency', MetricUnit.Milliseconds, performance.now() - started);
      if (status >= 400) metrics.addMetric(status >= 500 ? 'ServerErrors' : 'ClientErrors', MetricUnit.Count, 1);
      metrics.publishStoredMetrics(); // also flushes what the handler recorded (blobs, bytes, rejects)
    }
    return result;
  };
}
