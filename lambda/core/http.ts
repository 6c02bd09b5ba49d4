import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** HTTP helpers over API Gateway HTTP API (payload v2) events. */
export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;
export type Handler = (event: HttpEvent) => Promise<HttpResult>;

/**
 * The Content-Type Perkeep's own server gives its JSON answers. Its client insists on exactly
 * this for discovery; the other answers use it too, as Perkeep does.
 */
export const CAMLI_JSON = 'text/javascript';

/** A refusal with a status and a message for the client; handlers throw it, the router answers it. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Header lookup; API Gateway lower-cases header names in v2 events, but be lenient. */
export function header(event: HttpEvent, name: string): string | undefined {
  const h = event.headers ?? {};
  return h[name] ?? h[name.toLowerCase()] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

/** The raw request body; API Gateway base64-encodes binary bodies. */
export function bodyBytes(event: HttpEvent): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

export function json(status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): HttpResult {
  return { statusCode: status, headers: { 'content-type': contentType, ...headers }, body: JSON.stringify(body) };
}

export function errorResult(status: number, errorText: string, headers: Record<string, string> = {}): HttpResult {
  return json(status, { errorText }, 'application/json', headers);
}

/**
 * The externally visible base URL of this API (scheme, host and stage), built from the
 * request itself so it is right behind the default endpoint, a custom domain or LocalStack.
 */
export function publicBaseUrl(event: HttpEvent): string {
  const proto = header(event, 'x-forwarded-proto')?.split(',')[0].trim() || 'https';
  const host = event.requestContext.domainName || header(event, 'host') || 'localhost';
  const stage = event.requestContext.stage;
  const prefix = stage && stage !== '$default' ? `/${stage}` : '';
  return `${proto}://${host}${prefix}`;
}
