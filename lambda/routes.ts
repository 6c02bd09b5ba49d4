/**
 * The HTTP routes, as API Gateway route keys: the only place an endpoint is registered. Each
 * names the function (side) that serves it, how its caller is authorised, the operations its
 * caller's credential needs (core/scopes.ts, checked once by the router) and its handler
 * (lambda/handlers/read-side.ts and write-side.ts map the name to code). The CDK stack
 * creates exactly these routes, the local server matches requests against them and the
 * routers dispatch over them, so none of them can drift apart. Type imports only: the CDK app
 * reads this without the SDK.
 */
import type { Authorisation } from './core/routing/authorisation.js';
import type { Operation } from './core/scopes.js';

export type Side = 'read' | 'write';

export interface Route {
  method: 'GET' | 'HEAD' | 'POST';
  /** API Gateway path template: `{name}` matches one path segment, a last `{name+}` the rest of the path (greedy). */
  path: string;
  side: Side;
  auth: Authorisation;
  /**
   * The operations the route needs (any one of them), checked by the router with the request's
   * namespace before the handler runs (core/scopes.ts); `[]`: any operation in the namespace.
   * A signed URL's route checks the credential that minted it.
   */
  needs: readonly Operation[];
  /** The key of its handler in its side's registry (lambda/handlers/read-side.ts, write-side.ts). */
  handler: string;
}

/** The root namespace's routes: the API as it always was. */
const ROOT_ROUTES = [
  // The seed protocol.
  { method: 'POST', path: '/camli/preupload', side: 'read', auth: 'basic', needs: ['write'], handler: 'preupload' },
  { method: 'POST', path: '/camli/upload/{token}', side: 'write', auth: 'uploadToken', needs: ['write'], handler: 'signedUpload' },
  // DESIGN §6: S3 redirects (303) a stored uploadForm POST here; clients follow with GET.
  { method: 'GET', path: '/camli/upload-complete/{token}', side: 'write', auth: 'completionToken', needs: ['write'], handler: 'uploadComplete' },
  // Perkeep's current protocol (DESIGN section 4). Literal /camli/ paths win over {blobref}.
  { method: 'GET', path: '/', side: 'read', auth: 'basic', needs: [], handler: 'root' },
  { method: 'GET', path: '/status/status.json', side: 'read', auth: 'basic', needs: [], handler: 'status' },
  // DESIGN §10: the browser page. At /ui, not /ui/: an HTTP API route cannot end in a slash.
  { method: 'GET', path: '/ui', side: 'read', auth: 'basic', needs: [], handler: 'ui' },
  { method: 'GET', path: '/camli/stat', side: 'read', auth: 'basic', needs: ['read', 'write'], handler: 'stat' },
  { method: 'POST', path: '/camli/stat', side: 'read', auth: 'basic', needs: ['read', 'write'], handler: 'stat' },
  { method: 'GET', path: '/camli/enumerate-blobs', side: 'read', auth: 'basic', needs: ['read'], handler: 'enumerate' },
  // Our extension (DESIGN §9): where blobs' bytes are in S3, as signed ranged URLs. Perkeep's clients never call it.
  { method: 'POST', path: '/camli/locate', side: 'read', auth: 'basic', needs: ['read'], handler: 'locate' },
  { method: 'GET', path: '/camli/{blobref}', side: 'read', auth: 'basic', needs: ['read'], handler: 'getBlob' },
  { method: 'HEAD', path: '/camli/{blobref}', side: 'read', auth: 'basic', needs: ['read'], handler: 'getBlob' },
  { method: 'POST', path: '/camli/upload', side: 'write', auth: 'basic', needs: ['write'], handler: 'batchUpload' },
  { method: 'POST', path: '/camli/remove', side: 'write', auth: 'basic', needs: ['remove'], handler: 'remove' },
  // What the caller may do here (its scope): the page hides what it may not do.
  { method: 'GET', path: '/camli/credential', side: 'read', auth: 'basic', needs: [], handler: 'credential' },
] as const satisfies readonly Route[];

/**
 * The deployment's administration (docs/security.md), admin credentials only, at `/admin/...`
 * (so `admin` is a reserved namespace name). The list is on the read side (its role may Query
 * the table), adding and revoking on the write side (its role may write rows).
 */
const ADMIN_ROUTES = [
  { method: 'GET', path: '/admin/credentials', side: 'read', auth: 'basic', needs: ['admin'], handler: 'listCredentials' },
  { method: 'POST', path: '/admin/credentials', side: 'write', auth: 'basic', needs: ['admin'], handler: 'addCredential' },
  { method: 'POST', path: '/admin/credentials/{id}/revoke', side: 'write', auth: 'basic', needs: ['admin'], handler: 'revokeCredential' },
  // Usage and quotas per namespace (design §13): all namespaces, or one with ?namespace=.
  { method: 'GET', path: '/admin/usage', side: 'read', auth: 'basic', needs: ['admin'], handler: 'adminUsage' },
  { method: 'POST', path: '/admin/quotas', side: 'write', auth: 'basic', needs: ['admin'], handler: 'adminQuotas' },
] as const satisfies readonly Route[];

/** A root route as a named namespace's (DESIGN §12): `/{namespace}` before its path. */
type InNamespace<R extends Route> = R extends unknown ? Omit<R, 'path'> & { path: R['path'] extends '/' ? '/{namespace}' : `/{namespace}${R['path']}` } : never;

function inNamespace<R extends Route>(route: R): InNamespace<R> {
  return { ...route, path: route.path === '/' ? '/{namespace}' : `/{namespace}${route.path}` } as unknown as InNamespace<R>;
}

/**
 * Every route: the root namespace's, then each of them again under `/{namespace}` (a name of
 * lambda/core/namespace.ts, read by routing/namespace-of.ts; its reserved names are exactly the
 * first segments of the root routes, so the two sets never claim one request), then
 * `GET /{namespace}/{rest+}`: Perkeep's client, given `https://host/<name>/` as its server, asks
 * for discovery at `/<name>/`, and an HTTP API route cannot end in `/`; a greedy route is the
 * lowest-priority match, and the root handler answers it only for an empty `rest`.
 */
export const ROUTES = [
  ...ROOT_ROUTES,
  ...ROOT_ROUTES.map(inNamespace),
  { method: 'GET', path: '/{namespace}/{rest+}', side: 'read', auth: 'basic', needs: [], handler: 'root' },
  ...ADMIN_ROUTES,
] as const satisfies readonly Route[];

export type RegisteredRoute = (typeof ROUTES)[number];

export function routeKey(r: { method: string; path: string }): string {
  return `${r.method} ${r.path}`;
}
