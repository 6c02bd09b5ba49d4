import type { Authorisation } from './authorisation.js';
import { AUTHORISE, type Authorised, type RouteHandler } from './authorise.js';
import { claimedCredentialId } from '../auth/auth.js';
import type { Deps } from '../deps.js';
import { HttpError, REFUSE } from '../http/errors.js';
import { errorResult, type Handler, type HttpEvent, type HttpResult } from '../http/http.js';
import { namespaceLabel } from '../namespace.js';
import { allows, type Operation } from '../scopes.js';
import { MetricUnit } from '../telemetry.js';

/** The credential id each request was made with, for its log line (router below); never a secret. */
const CALLERS = new WeakMap<HttpEvent, string>();

/**
 * A route's handler behind its authorisation and its operations: the only place credentials,
 * tokens and scopes are checked, once, with the request's namespace (`deps.namespace`), before
 * the handler runs, so no endpoint can forget to. `needs`: the route's operations, any one of
 * which will do (none: any operation in the namespace; scopes.ts `allows`).
 */
export function authorised<A extends Authorisation>(auth: A, needs: readonly Operation[], deps: Deps, handler: RouteHandler<A>): Handler {
  const authorise = AUTHORISE[auth] as (deps: Deps, event: HttpEvent) => Promise<Authorised<A>>;
  return async (event) => {
    const claimed = claimedCredentialId(event);
    if (claimed) CALLERS.set(event, claimed);
    const { caller, granted } = await authorise(deps, event);
    CALLERS.set(event, caller.credentialId);
    if (!allows(caller.scope, needs, deps.namespace)) {
      const permission = needs.length ? needs.join(' or ') : 'any';
      const where = needs.includes('admin') ? 'on this deployment' : `in ${namespaceLabel(deps.namespace)}`;
      throw REFUSE.permissionMissing(caller.credentialId, permission, where);
    }
    return handler(event, granted);
  };
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
