import type { Deps } from './core/deps.js';
import type { Handler } from './core/http/http.js';
import { authorised, createRouter } from './core/routing/router.js';
import type { HandlersOf } from './handlers/registry.js';
import { ROUTES, routeKey, type RegisteredRoute, type Side } from './routes.js';

/** One route's handler, built from deps, behind the route's authorisation. */
export function routeHandler<S extends Side>(route: Extract<RegisteredRoute, { side: S }>, handlers: HandlersOf<S>, deps: Deps): Handler {
  const build = handlers[route.handler as keyof HandlersOf<S>] as (deps: Deps) => Parameters<typeof authorised>[2];
  return authorised(route.auth, deps, build(deps));
}

/** The router of one function: exactly the ROUTES of its side, with that side's handlers. */
export function createSide<S extends Side>(side: S, handlers: HandlersOf<S>, deps: Deps): Handler {
  const routes = ROUTES.filter((r): r is Extract<RegisteredRoute, { side: S }> => r.side === side);
  return createRouter(Object.fromEntries(routes.map((r) => [routeKey(r), routeHandler(r, handlers, deps)])), deps);
}
