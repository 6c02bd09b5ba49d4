import { isIP } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { REFUSE, type HttpError } from './errors.js';

/** HTTP helpers over API Gateway HTTP API (payload v2) events. */
export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type Handler = (event: HttpEvent) => Promise<HttpResult>;

/**
 * The Content-Type Perkeep's own server gives its JSON answers. Its client insists on exactly
 * this for discovery; the other answers use it too, as Perkeep does.
 */
export const CAMLI_JSON = 'text/javascript';

/** Header lookup; API Gateway lower-cases header names in v2 events, but be lenient. */
export function header(event: HttpEvent, name: string): string | undefined {
  const h = event.headers ?? {};
  return h[name] ?? h[name.toLowerCase()] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/**
 * Request bytes an in-process caller (the local server) hands over with their event, so an
 * upload's body is not base64-encoded into the event only to be decoded here. Lambda never
 * hands any over; the event's `body` stays what API Gateway would send either way.
 */
const handedOver = new WeakMap<HttpEvent, Buffer>();

export function handOverBody(event: HttpEvent, bytes: Buffer): void {
  handedOver.set(event, bytes);
}

export function handedOverBody(event: HttpEvent): Buffer | undefined {
  return handedOver.get(event);
}

/** The raw request body; API Gateway base64-encodes binary bodies. */
export function bodyBytes(event: HttpEvent): Buffer {
  const handed = handedOver.get(event);
  if (handed) return handed;
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

export function json(status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): HttpResult {
  return { statusCode: status, headers: { 'content-type': contentType, ...headers }, body: JSON.stringify(body) };
}

/** A refusal's answer: `{"errorText", "code"}` with its status and headers. */
export function errorResult(err: HttpError): HttpResult {
  return json(err.status, err, 'application/json', err.headers);
}

/** A host name (DNS labels), an IPv4 address or a bracketed IPv6 address, with an optional port. */
export function isHostAuthority(value: string): boolean {
  const m =
    /^(?:(\[[0-9A-Fa-f:.]+\])|([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*))(?::([0-9]{1,5}))?$/.exec(
      value,
    );
  if (!m || value.length > 260) return false;
  if (m[1] && isIP(m[1].slice(1, -1)) !== 6) return false;
  return m[3] === undefined || (Number(m[3]) >= 1 && Number(m[3]) <= 65535);
}

/**
 * The externally visible base URL of this API (scheme, host and stage), so it is right behind
 * the default endpoint, a custom domain or LocalStack. The host is the API's own domain from
 * the request context (API Gateway sets it; never the client's Host header there; the local
 * server puts its Host header there); the scheme may come from X-Forwarded-Proto. Both end up
 * in URLs handed to clients, so anything but http/https and a well-formed host is refused.
 */
export function publicBaseUrl(event: HttpEvent): string {
  const proto = (header(event, 'x-forwarded-proto')?.split(',')[0]?.trim() || 'https').toLowerCase();
  if (proto !== 'https' && proto !== 'http') throw REFUSE.invalidForwardedProto();
  const host = event.requestContext.domainName;
  if (!host || !isHostAuthority(host)) throw REFUSE.invalidHost();
  const stage = event.requestContext.stage;
  const prefix = stage && stage !== '$default' ? `/${stage}` : '';
  return `${proto}://${host.toLowerCase()}${prefix}`;
}
