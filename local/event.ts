import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { handedOverBody, handOverBody, type HttpEvent, type HttpResult } from '../lambda/core/http/http.js';
import { LAMBDA_EVENT_LIMIT, LAMBDA_RESPONSE_LIMIT } from '../lambda/core/limits.js';
import { ROUTES, routeKey, type Route } from '../lambda/routes.js';

/**
 * Turns a plain HTTP request into the API Gateway HTTP API (payload v2) event the cloud
 * would deliver, and a handler result back into a response, with the gateway's limits.
 */

export interface PlainRequest {
  method: string;
  /** Path plus query string, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  sourceIp: string;
}

/** What matching needs of a route: where it is and which side serves it. */
export type RoutePlace = Pick<Route, 'method' | 'path' | 'side'>;

/** Any route API Gateway matches: a method and a path template (the deployed-artifact lane's come from the template). */
export type RoutePattern = { method: string; path: string };

export interface RouteMatch<R extends RoutePattern = RoutePlace> {
  route: R;
  pathParameters: Record<string, string>;
}

export function matchRoute(method: string, path: string): RouteMatch | undefined;
export function matchRoute<R extends RoutePattern>(method: string, path: string, routes: readonly R[]): RouteMatch<R> | undefined;
export function matchRoute(method: string, path: string, routes: readonly RoutePattern[] = ROUTES): RouteMatch<RoutePattern> | undefined {
  const segments = path.split('/');
  for (const route of inMatchOrder(routes)) {
    if (route.method !== method) continue;
    const template = route.path.split('/');
    const greedy = /^\{[^}]+\+\}$/.test(template[template.length - 1] ?? '');
    // A last `{name+}` takes the rest of the path, possibly empty (`/<name>/`, as API Gateway routes it).
    if (greedy ? segments.length < template.length : template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = template.every((t, i) => {
      if (greedy && i === template.length - 1) {
        params[t.slice(1, -2)] = decoded(segments.slice(i).join('/'));
        return true;
      }
      if (t.startsWith('{') && t.endsWith('}')) {
        if (!segments[i]) return false;
        params[t.slice(1, -1)] = decoded(segments[i]);
        return true;
      }
      return t === segments[i];
    });
    if (ok) return { route, pathParameters: params };
  }
  return undefined;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const matchOrders = new WeakMap<readonly RoutePattern[], readonly RoutePattern[]>();

/**
 * Like API Gateway, a literal route wins over one with a {parameter} in the same place: fewer
 * parameters first, and a greedy `{name+}` route last (sorted once per route table).
 */
function inMatchOrder(routes: readonly RoutePattern[]): readonly RoutePattern[] {
  let ordered = matchOrders.get(routes);
  if (!ordered) {
    const rank = (r: RoutePattern) => (r.path.includes('+}') ? 1000 : 0) + r.path.split('{').length;
    ordered = [...routes].sort((a, b) => rank(a) - rank(b));
    matchOrders.set(routes, ordered);
  }
  return ordered;
}

/** Content types API Gateway passes as text; everything else arrives base64-encoded. */
function isTextual(contentType: string | undefined): boolean {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return t.startsWith('text/') || ['application/json', 'application/x-www-form-urlencoded', 'application/javascript', 'application/xml'].includes(t);
}

export function toEvent(req: PlainRequest, match: RouteMatch<RoutePattern> | undefined, now = new Date()): HttpEvent {
  const [rawPath = '', rawQueryString = ''] = req.url.split(/\?(.*)/s, 2);
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') cookies.push(...String(value).split(/;\s*/));
    else headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-for'] ??= req.sourceIp;
  const query = new URLSearchParams(rawQueryString);
  const queryStringParameters: Record<string, string> = {};
  for (const key of new Set(query.keys())) queryStringParameters[key] = query.getAll(key).join(',');
  const textual = isTextual(headers['content-type']);
  const key = match ? routeKey(match.route) : '$default';
  const event: HttpEvent = {
    version: '2.0',
    routeKey: key,
    rawPath,
    rawQueryString,
    // Absent, not undefined, as API Gateway leaves them out.
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters } : {}),
    ...(match && Object.keys(match.pathParameters).length ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers['host'] ?? 'localhost',
      domainPrefix: (headers['host'] ?? 'localhost').split('.')[0]!,
      http: { method: req.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: req.sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(req.body.length && textual ? { body: req.body.toString('utf8') } : {}),
    isBase64Encoded: req.body.length > 0 && !textual,
  };
  if (event.isBase64Encoded) withBinaryBody(event, req.body);
  return event;
}

/**
 * A binary body as API Gateway sends it (base64), but encoded only if something reads it: the
 * handlers get the bytes themselves (handOverBody), which spares an upload's 6 MB a round trip
 * through base64 on every request.
 */
function withBinaryBody(event: HttpEvent, bytes: Buffer): void {
  handOverBody(event, bytes);
  Object.defineProperty(event, 'body', {
    enumerable: true,
    configurable: true,
    get() {
      const body = bytes.toString('base64');
      Object.defineProperty(event, 'body', { value: body, enumerable: true, configurable: true, writable: true });
      return body;
    },
  });
}

/**
 * The bytes of `JSON.stringify(payload)`. A base64 body (most of an upload's event or a blob's
 * response) is not serialised for it: its characters need no escaping, so it adds its length.
 */
function jsonBytes(payload: HttpEvent | HttpResult): number {
  const handed = 'routeKey' in payload ? handedOverBody(payload) : undefined;
  if (handed) {
    // Measured without reading `body`, which would encode it.
    const shell = Object.getOwnPropertyDescriptors(payload) as Record<string, PropertyDescriptor>;
    delete shell['body'];
    return Buffer.byteLength(JSON.stringify({ ...Object.defineProperties({}, shell), body: '' })) + 4 * Math.ceil(handed.length / 3);
  }
  if (!payload.isBase64Encoded || !payload.body) return Buffer.byteLength(JSON.stringify(payload));
  return Buffer.byteLength(JSON.stringify({ ...payload, body: '' })) + payload.body.length;
}

/** Whether Lambda would refuse this event as over its invocation payload limit. */
export function exceedsEventLimit(event: HttpEvent): boolean {
  return jsonBytes(event) > LAMBDA_EVENT_LIMIT;
}

/** Whether Lambda would fail this (buffered) response as over its payload limit. */
export function exceedsResponseLimit(result: HttpResult): boolean {
  return jsonBytes(result) > LAMBDA_RESPONSE_LIMIT;
}

/** What API Gateway answers when the function's response was too large to return. */
export const RESPONSE_TOO_LARGE: HttpResult = {
  statusCode: 500,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: 'Internal Server Error', errorText: 'response exceeds the 6 MB Lambda payload limit' }),
};

/** API Gateway's own answer to an over-size request (with the errorText our clients read). */
export const TOO_LARGE: HttpResult = {
  statusCode: 413,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: 'Request Entity Too Large', errorText: 'request exceeds the 6 MB Lambda event limit' }),
};

export const NOT_FOUND: HttpResult = {
  statusCode: 404,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: 'Not Found', errorText: 'no such endpoint' }),
};

/** The response bytes and headers a client sees for a handler result. */
export function fromResult(result: HttpResult): { status: number; headers: Record<string, string | string[]>; body: Buffer } {
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  headers['content-length'] ??= String(body.length);
  return { status: result.statusCode ?? 200, headers, body };
}
