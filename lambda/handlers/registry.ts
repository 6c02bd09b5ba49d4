import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import type { RegisteredRoute, Side } from '../routes.js';

type RoutesOf<S extends Side> = Extract<RegisteredRoute, { side: S }>;

/**
 * The code of every handler the routes of one side name, by name (one registry per side, so
 * each function's bundle holds only its own handlers). Each entry loads its handler's module
 * (a dynamic `import()`): a function evaluates a route's code, and what only that route uses,
 * on the route's first request, never at its cold start (docs/layout.md, "What loads when").
 * The type makes the compiler check that each name has code and that the code takes what its
 * routes' authorisation grants.
 */
export type HandlersOf<S extends Side> = {
  [N in RoutesOf<S>['handler']]: () => Promise<(deps: Deps) => RouteHandler<Extract<RoutesOf<S>, { handler: N }>['auth']>>;
};
