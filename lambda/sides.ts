import type { Deps } from './core/deps.js';
import type { Handler } from './core/http.js';
import { authorised, createRouter } from './core/router.js';
import { HANDLERS } from './handlers/index.js';
import { ROUTES, routeKey, type RegisteredRoute, type Side } from './routes.js';

/** One route's handler, built from deps, behind the route's authorisation. */
export function routeHandler(route: RegisteredRoute, deps: Deps): Handler {
  const build = HANDLERS[route.handler] as (deps: Deps) => Parameters<typeof authorised>[2];
  return authorised(route.auth, deps, build(deps));
}

/** The router of one function: exactly the ROUTES of its side. */
export function createSide(side: Side, deps: Deps): Handler {
  const routes = ROUTES.filter((r) => r.side === side);
  return createRouter(Object.fromEntries(routes.map((r) => [routeKey(r), routeHandler(r, deps)])), deps);
}
