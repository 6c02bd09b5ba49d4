import type { IncomingHttpHeaders } from 'node:http';

/**
 * CORS on the local server as API Gateway answers it for the stack's `corsOrigins`
 * (infra/api.ts): a preflight from a listed origin is answered with what the client may send
 * (GET/HEAD/POST, its Authorization and Content-Type headers, credentials); other origins get
 * no CORS headers at all, so the browser refuses their requests. Without listed origins there
 * is no CORS, and an OPTIONS request is an unknown route (404), as on a stack without it.
 */

export const CORS_METHODS = 'GET, HEAD, POST';
export const CORS_HEADERS = 'authorization, content-type';
const MAX_AGE_SECONDS = '86400';

export type AllowOrigin = (origin: string) => boolean;

/** Allows exactly these origins (browsers send scheme://host:port, compared as written). */
export function listedOrigins(origins: readonly string[]): AllowOrigin {
  const set = new Set(origins);
  return (origin) => set.has(origin);
}

function originOf(headers: IncomingHttpHeaders): string | undefined {
  const origin = headers.origin;
  return typeof origin === 'string' && origin !== '' ? origin : undefined;
}

/** Headers added to an ordinary answer for an allowed origin (none for others). */
export function corsResponseHeaders(headers: IncomingHttpHeaders, allow: AllowOrigin): Record<string, string> {
  const origin = originOf(headers);
  if (!origin || !allow(origin)) return {};
  return { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'origin' };
}

/**
 * The answer to a CORS preflight (OPTIONS with Access-Control-Request-Method), or undefined when
 * this request is not one. An origin that is not allowed gets an answer without CORS headers.
 */
export function preflight(method: string, headers: IncomingHttpHeaders, allow: AllowOrigin): { status: number; headers: Record<string, string> } | undefined {
  if (method !== 'OPTIONS' || !headers['access-control-request-method']) return undefined;
  const allowed = corsResponseHeaders(headers, allow);
  if (!allowed['access-control-allow-origin']) return { status: 204, headers: {} };
  return {
    status: 204,
    headers: {
      ...allowed,
      'access-control-allow-methods': CORS_METHODS,
      'access-control-allow-headers': CORS_HEADERS,
      'access-control-max-age': MAX_AGE_SECONDS,
    },
  };
}
