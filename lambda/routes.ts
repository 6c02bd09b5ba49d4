/**
 * The HTTP routes, as API Gateway route keys, and which function serves each. The CDK stack
 * creates exactly these routes and the local server matches requests against them, so the
 * two cannot drift apart.
 */
export type Side = 'read' | 'write';

export interface Route {
  method: 'GET' | 'HEAD' | 'POST';
  /** API Gateway path template: `{name}` matches one path segment. */
  path: string;
  side: Side;
}

export const ROUTES: readonly Route[] = [
  // The seed protocol.
  { method: 'POST', path: '/camli/preupload', side: 'read' },
  { method: 'POST', path: '/camli/upload/{token}', side: 'write' },
  // DESIGN §6: S3 redirects (303) a stored uploadForm POST here; clients follow with GET.
  { method: 'GET', path: '/camli/upload-complete/{token}', side: 'write' },
  // Perkeep's current protocol (DESIGN section 4). Literal /camli/ paths win over {blobref}.
  { method: 'GET', path: '/', side: 'read' },
  { method: 'GET', path: '/status/status.json', side: 'read' },
  { method: 'GET', path: '/camli/stat', side: 'read' },
  { method: 'POST', path: '/camli/stat', side: 'read' },
  { method: 'GET', path: '/camli/enumerate-blobs', side: 'read' },
  { method: 'GET', path: '/camli/{blobref}', side: 'read' },
  { method: 'HEAD', path: '/camli/{blobref}', side: 'read' },
  { method: 'POST', path: '/camli/upload', side: 'write' },
  { method: 'POST', path: '/camli/remove', side: 'write' },
];

export function routeKey(r: Pick<Route, 'method' | 'path'>): string {
  return `${r.method} ${r.path}`;
}
