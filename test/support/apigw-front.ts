import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpResult } from '../../lambda/core/http/http.js';
import {
  RESPONSE_TOO_LARGE,
  TOO_LARGE,
  exceedsEventLimit,
  exceedsResponseLimit,
  fromResult,
  matchRoute,
  toEvent,
  type RoutePattern,
} from '../../local/event.js';
import { declaredTooLarge, readBody, refuseTooLarge } from '../../local/server.js';
import type { EmulatedFunction } from './rie.js';

/**
 * An HTTP front that answers as an API Gateway HTTP API does for the synthesized template's
 * routes: it matches the request against the template's `AWS::ApiGatewayV2::Route` route keys,
 * builds the payload format 2.0 event (local/event.ts, shared with the local server), invokes
 * the route's integration function in the Lambda emulator and turns its result back into HTTP.
 * API Gateway's own answers (no route, payload over 10 MB, integration timeout, function error)
 * come with its JSON `{"message": …}` bodies. Listens on 127.0.0.1 only.
 *
 * Limits, from "Quotas for configuring and running an HTTP API in API Gateway" (AWS docs):
 * payload size 10 MB, maximum (and default) integration timeout 30 seconds.
 */

export const HTTP_API_PAYLOAD_LIMIT = 10 * 1024 * 1024;
export const HTTP_API_INTEGRATION_TIMEOUT_MS = 30_000;

/** What the front needs of a function: its name and the Invoke call. */
export type Invocable = Pick<EmulatedFunction, 'invoke'> & Partial<Pick<EmulatedFunction, 'recentOutput'>> & { spec: { name: string } };

export interface FrontRoute extends RoutePattern {
  fn: Invocable;
  /** The integration's TimeoutInMillis, when the template sets one. */
  timeoutMs?: number | undefined;
}

export interface ApiFront {
  url: string;
  /** Requests answered (what the HTTP API bills), and invocations made, by function name. */
  /** requests: as received; meteredRequests: as HTTP API bills them (512 KB units); responseBytes: body bytes sent back (data transfer out). */
  counts: { requests: number; meteredRequests: number; responseBytes: number; invocations: Map<string, number> };
  close(): Promise<void>;
}

const gatewayAnswer = (statusCode: number, message: string): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message }),
});

const NO_ROUTE = gatewayAnswer(404, 'Not Found');
const PAYLOAD_TOO_LARGE = gatewayAnswer(413, 'Request Entity Too Large');
const FUNCTION_FAILED = gatewayAnswer(500, 'Internal Server Error');
const TIMED_OUT = gatewayAnswer(503, 'Service Unavailable');

/**
 * A Lambda result as payload format 2.0 reads it: an object with `statusCode` is the response;
 * anything else valid JSON is a 200 application/json body of that JSON.
 */
export function resultOf(payload: Buffer): HttpResult {
  const text = payload.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return FUNCTION_FAILED;
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && 'statusCode' in value) return value as HttpResult;
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: text };
}

/**
 * HTTP API meters requests in 512 KB increments (aws.amazon.com/api-gateway/pricing): a
 * request of 1.2 MB is billed as three. Counted here on the request and response bodies
 * together, which can overstate by at most one increment.
 */
export const HTTP_API_METERING_BYTES = 512 * 1024;
export function meteredRequests(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / HTTP_API_METERING_BYTES));
}

export async function startApiFront(routes: readonly FrontRoute[]): Promise<ApiFront> {
  const counts = { requests: 0, meteredRequests: 0, responseBytes: 0, invocations: new Map<string, number>() };
  /** Request body bytes, by request, for metering. */
  const requestBytes = new WeakMap<IncomingMessage, number>();

  const answer = async (req: IncomingMessage): Promise<HttpResult> => {
    const body = await readBody(req, HTTP_API_PAYLOAD_LIMIT);
    if (body === undefined) return PAYLOAD_TOO_LARGE;
    requestBytes.set(req, body.length);
    const url = req.url ?? '/';
    const match = matchRoute(req.method ?? 'GET', url.split('?')[0]!, routes);
    if (!match) return NO_ROUTE;
    const event = toEvent({ method: req.method ?? 'GET', url, headers: req.headers, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' }, match);
    // Lambda refuses an invocation payload over 6 MB; API Gateway answers 413 (as the local server does).
    if (exceedsEventLimit(event)) return TOO_LARGE;
    const { fn, timeoutMs = HTTP_API_INTEGRATION_TIMEOUT_MS } = match.route;
    counts.invocations.set(fn.spec.name, (counts.invocations.get(fn.spec.name) ?? 0) + 1);
    try {
      const out = await fn.invoke(JSON.stringify(event), event.requestContext.requestId ?? randomUUID(), AbortSignal.timeout(timeoutMs));
      if (out.functionError) {
        // What the test sees is API Gateway's bare 500: the function's own answer and output go to the test log.
        process.stderr.write(
          `api front: ${fn.spec.name} failed (${out.status}): ${out.payload.toString('utf8').slice(0, 2000)}\n${fn.recentOutput?.() ?? ''}\n`,
        );
        return FUNCTION_FAILED;
      }
      const result = resultOf(out.payload);
      return exceedsResponseLimit(result) ? RESPONSE_TOO_LARGE : result;
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return TIMED_OUT;
      process.stderr.write(`api front: invoking ${fn.spec.name} failed: ${(err as Error).stack ?? String(err)}\n${fn.recentOutput?.() ?? ''}\n`);
      throw err;
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    answer(req)
      .then((result) => {
        if (result === PAYLOAD_TOO_LARGE) return refuseTooLarge(res, PAYLOAD_TOO_LARGE);
        const out = fromResult(result);
        const sent = req.method === 'HEAD' ? 0 : out.body.length;
        counts.meteredRequests += meteredRequests((requestBytes.get(req) ?? 0) + sent);
        counts.responseBytes += sent;
        res.writeHead(out.status, out.headers);
        res.end(req.method === 'HEAD' ? undefined : out.body);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
      });
  };
  const server = createServer(handle);
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaredTooLarge(req, HTTP_API_PAYLOAD_LIMIT)) {
      counts.requests++;
      counts.meteredRequests++;
      return refuseTooLarge(res, PAYLOAD_TOO_LARGE);
    }
    res.writeContinue();
    handle(req, res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
