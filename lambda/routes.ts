/**
 * The HTTP routes, as API Gateway route keys: the only place an endpoint is registered. Each
 * names the function (side) that serves it, how its caller is authorised and its handler
 * (lambda/handlers/read-side.ts and write-side.ts map the name to code). The CDK stack
 * creates exactly these routes, the local server matches requests against them and the
 * routers dispatch over them, so none of them can drift apart. Type imports only: the CDK app
 * reads this without the SDK.
 */
import type { Authorisation } from './core/routing/authorisation.js';

export type Side = 'read' | 'write';

export interface Route {
  method: 'GET' | 'HEAD' | 'POST';
  /** API Gateway path template: `{name}` matches one path segment, a last `{name+}` the rest of the path (greedy). */
  path: string;
  side: Side;
  auth: Authorisation;
  /** The key of its handler in its side's registry (lambda/handlers/read-side.ts, write-side.ts). */
  handler: string;
}

/** The root namespace's routes: the API as it always was. */
const ROOT_ROUTES = [
  // The seed protocol.
  { method: 'POST', path: '/camli/preupload', side: 'read', auth: 'basic', handler: 'preupload' },
  { method: 'POST', path: '/camli/upload/{token}', side: 'write', auth: 'uploadToken', handler: 'signedUpload' },
  // DESIGN §6: S3 redirects (303) a stored uploadForm POST here; clients follow with GET.
  { method: 'GET', path: '/camli/upload-complete/{token}', side: 'write', auth: 'completionToken', handler: 'uploadComplete' },
  // Perkeep's current protocol (DESIGN section 4). Literal /camli/ paths win over {blobref}.
  { method: 'GET', path: '/', side: 'read', auth: 'basic', handler: 'root' },
  { method: 'GET', path: '/status/status.json', side: 'read', auth: 'basic', handler: 'status' },
  // DESIGN §10: the browser page. At /ui, not /ui/: an HTTP API route cannot end in a slash.
  { method: 'GET', path: '/ui', side: 'read', auth: 'basic', handler: 'ui' },
  { method: 'GET', path: '/camli/stat', side: 'read', auth: 'basic', handler: 'stat' },
  { method: 'POST', path: '/camli/stat', side: 'read', auth: 'basic', handler: 'stat' },
  { method: 'GET', path: '/camli/enumerate-blobs', side: 'read', auth: 'basic', handler: 'enumerate' },
  // Our extension (DESIGN §9): where blobs' bytes are in S3, as signed ranged URLs. Perkeep's clients never call it.
  { method: 'POST', path: '/camli/locate', side: 'read', auth: 'basic', handler: 'locate' },
  { method: 'GET', path: '/camli/{blobref}', side: 'read', auth: 'basic', handler: 'getBlob' },
  { method: 'HEAD', path: '/camli/{blobref}', side: 'read', auth: 'basic', handler: 'getBlob' },
  { method: 'POST', path: '/camli/upload', side: 'write', auth: 'basic', handler: 'batchUpload' },
  { method: 'POST', path: '/camli/remove', side: 'write', auth: 'basic', handler: 'remove' },
] as const satisfies readonly Route[];

/**
 * The deployment's administration (issue 27), once, outside every namespace. // admin: these are
 * admin-only once the admin permission lands (scoped credentials); today `basic`, as every route.
 */
const ADMIN_ROUTES = [
  { method: 'GET', path: '/admin/usage', side: 'read', auth: 'basic', handler: 'adminUsage' }, // admin
  { method: 'POST', path: '/admin/quotas', side: 'write', auth: 'basic', handler: 'adminQuotas' }, // admin
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
  ...ADMIN_ROUTES,
  { method: 'GET', path: '/{namespace}/{rest+}', side: 'read', auth: 'basic', handler: 'root' },
] as const satisfies readonly Route[];

export type RegisteredRoute = (typeof ROUTES)[number];

export function routeKey(r: { method: string; path: string }): string {
  return `${r.method} ${r.path}`;
}
