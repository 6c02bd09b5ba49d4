import type { Deps } from './core/deps.js';
import type { Handler } from './core/http/http.js';
import type { RouteHandler } from './core/routing/authorise.js';
import { createRouter } from './core/routing/router.js';
import { namespaceOf } from './core/routing/namespace-of.js';
import type { Namespace } from './core/namespace.js';
import type { HandlersOf } from './handlers/registry.js';
import { ROUTES, routeKey, type RegisteredRoute, type Side } from './routes.js';

/** Namespaces whose handlers one route keeps built; past it the cache starts again. */
const NAMESPACE_HANDLERS = 256;

/**
 * One route's handler behind the route's authorisation, built from the deps of the request's
 * namespace (namespaceOf): storage, generation and minted URLs are that namespace's, and a
 * signed URL verifies only in the namespace it was minted for. The handler's module and the
 * authorisation code are loaded on the route's first request (handlers/registry.ts), so a
 * function's cold start evaluates none of its routes' code.
 */
export function routeHandler<S extends Side>(route: Extract<RegisteredRoute, { side: S }>, handlers: HandlersOf<S>, deps: Deps): Handler {
  const load = handlers[route.handler as keyof HandlersOf<S>] as unknown as () => Promise<(deps: Deps) => RouteHandler<typeof route.auth>>;
  const prepare = async (): Promise<Handler> => {
    const [build, { authorised }] = await Promise.all([load(), import('./core/routing/authorise.js')]);
    const inNamespace = (ns: Namespace) => {
      const nsDeps = deps.forNamespace(ns);
      return authorised(route.auth, route.needs, nsDeps, build(nsDeps));
    };
    const root = inNamespace(deps.namespace);
    const named = new Map<string, Handler>();
    return async (event) => {
      const ns = namespaceOf(event);
      if (!ns.name) return root(event);
      let handler = named.get(ns.name);
      if (!handler) {
        if (named.size >= NAMESPACE_HANDLERS) named.clear();
        handler = inNamespace(ns);
        named.set(ns.name, handler);
      }
      return handler(event);
    };
  };
  let ready: Promise<Handler> | undefined;
  return async (event) => {
    // A failed load is not kept: the next request tries again.
    ready ??= prepare().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return (await ready)(event);
  };
}

/** The router of one function: exactly the ROUTES of its side, with that side's handlers. */
export function createSide<S extends Side>(side: S, handlers: HandlersOf<S>, deps: Deps): Handler {
  const routes = ROUTES.filter((r): r is Extract<RegisteredRoute, { side: S }> => r.side === side);
  return createRouter(Object.fromEntries(routes.map((r) => [routeKey(r), routeHandler(r, handlers, deps)])), deps);
}
