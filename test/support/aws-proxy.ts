import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

/**
 * An HTTP proxy on loopback in front of an AWS emulator. It forwards every request unchanged
 * (Host header included, so SigV4 signatures still verify) and lets a test count requests or
 * answer some of them with a fault instead, as a failing S3 or DynamoDB would.
 */

export interface ProxiedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** DynamoDB operation from X-Amz-Target (e.g. "PutItem"), or undefined for S3. */
  operation?: string | undefined;
}

export type Fault = { status: number; body: string; contentType: string };
export type FaultRule = (req: ProxiedRequest) => Fault | undefined;
/** Replaces the upstream's answer (by its status) with another one, as a stricter service would answer. */
export type AnswerRule = (req: ProxiedRequest, upstreamStatus: number) => Fault | undefined;

/** What a failing DynamoDB answers; the SDK retries it, then throws. */
export const DYNAMODB_FAILURE: Fault = {
  status: 500,
  contentType: 'application/x-amz-json-1.0',
  body: JSON.stringify({ __type: 'com.amazon.coral.service#InternalFailure', message: 'injected fault' }),
};

/** What a failing S3 answers; the SDK retries it, then throws. */
export const S3_FAILURE: Fault = {
  status: 500,
  contentType: 'application/xml',
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>',
};

/** A request paused by a hold rule; `release()` forwards it and resolves once its answer has been relayed. */
export interface HeldRequest {
  req: ProxiedRequest;
  release(): Promise<void>;
}

export interface AwsProxy {
  endpoint: string;
  /**
   * Pause every request the rule matches until the test releases it (a barrier between the
   * server's storage steps); undefined forwards everything again (already held ones stay held).
   */
  setHold(rule: ((req: ProxiedRequest) => boolean) | undefined): void;
  /** The next held request (already held or yet to come), in arrival order. */
  nextHeld(): Promise<HeldRequest>;
  /** Held requests not yet taken with nextHeld(). */
  heldCount(): number;
  /** Every request seen, in order. */
  requests: ProxiedRequest[];
  /** Replace the fault rule (undefined: forward everything). */
  setFault(rule: FaultRule | undefined): void;
  /** Replace the answer rule (undefined: relay every upstream answer unchanged). */
  setAnswer(rule: AnswerRule | undefined): void;
  /** Forward to another upstream from now on (the emulator restarted on a new port); the proxy keeps its own endpoint. */
  retarget(target: string): void;
  close(): Promise<void>;
}

export async function startAwsProxy(target: string): Promise<AwsProxy> {
  let upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  let fault: FaultRule | undefined;
  let answer: AnswerRule | undefined;
  let hold: ((req: ProxiedRequest) => boolean) | undefined;
  const held: HeldRequest[] = [];
  const waiters: ((h: HeldRequest) => void)[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      // The sender gave up mid-body (the S3 front cuts off an oversized form, as S3 does): nothing to forward.
      return void res.destroy();
    }
    const body = Buffer.concat(chunks);
    const amzTarget = req.headers['x-amz-target'];
    const seen: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body,
      operation: typeof amzTarget === 'string' ? amzTarget.split('.').pop() : undefined,
    };
    requests.push(seen);
    if (hold?.(seen)) {
      let go!: () => void;
      const released = new Promise<void>((ok) => (go = ok));
      const relayed = new Promise<void>((ok) => res.once('close', () => ok()));
      const h: HeldRequest = { req: seen, release: () => (go(), relayed) };
      const waiter = waiters.shift();
      if (waiter) waiter(h);
      else held.push(h);
      await released;
    }
    const injected = fault?.(seen);
    if (injected) {
      res.writeHead(injected.status, { 'content-type': injected.contentType });
      res.end(injected.body);
      return;
    }
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const replaced = answer?.(seen, up.statusCode ?? 502);
      if (replaced) {
        up.resume();
        res.writeHead(replaced.status, { 'content-type': replaced.contentType });
        res.end(replaced.body);
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      // pipeline, not pipe: a client that hangs up mid-body must not leave the upstream
      // response open (the emulator would then never finish closing).
      pipeline(up, res, () => undefined);
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    out.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    setFault: (rule) => void (fault = rule),
    setAnswer: (rule) => void (answer = rule),
    setHold: (rule) => void (hold = rule),
    nextHeld: () => {
      const h = held.shift();
      return h ? Promise.resolve(h) : new Promise<HeldRequest>((ok) => waiters.push(ok));
    },
    heldCount: () => held.length,
    retarget: (to) => void (upstream = new URL(to)),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
