import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { HttpEvent } from '../../lambda/core/http/http.js';
import { startApiFront, type ApiFront, type Invocable } from '../support/apigw-front.js';
import type { Invocation } from '../support/rie.js';

/**
 * The API Gateway front of the deployed-artifact lane, over real HTTP, with functions that
 * record the payload format 2.0 event they get: routing by route key, the event's fields,
 * the result turned back into HTTP, and API Gateway's own answers (no route, over 10 MB,
 * function error, integration timeout).
 */
function recorder(name: string, answer: (event: HttpEvent, signal?: AbortSignal) => Promise<Invocation>) {
  const events: HttpEvent[] = [];
  const fn: Invocable = {
    spec: { name },
    invoke: async (payload: string, _requestId: string, signal?: AbortSignal) => {
      const event = JSON.parse(payload) as HttpEvent;
      events.push(event);
      return answer(event, signal);
    },
  };
  return { fn, events };
}

const ok = (result: unknown): Invocation => ({ status: 200, payload: Buffer.from(JSON.stringify(result)), functionError: false });

describe('API Gateway front (payload format 2.0)', () => {
  const read = recorder('read', async () =>
    ok({ statusCode: 200, headers: { 'Content-Type': 'text/plain', 'X-Side': 'read' }, body: 'hi', cookies: ['a=1', 'b=2'] }),
  );
  const write = recorder('write', async () =>
    ok({
      statusCode: 201,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 255]).toString('base64'),
      isBase64Encoded: true,
    }),
  );
  const failing = recorder('failing', async () => ({ status: 200, payload: Buffer.from('{"errorType":"Error","errorMessage":"boom"}'), functionError: true }));
  const slow = recorder('slow', (_e, signal) => new Promise((_, reject) => signal!.addEventListener('abort', () => reject(signal!.reason))));
  let front: ApiFront;
  before(async () => {
    front = await startApiFront([
      { method: 'GET', path: '/camli/{blobref}', fn: read.fn },
      { method: 'GET', path: '/camli/stat', fn: read.fn },
      { method: 'POST', path: '/camli/upload/{token}', fn: write.fn },
      { method: 'GET', path: '/fail', fn: failing.fn },
      { method: 'GET', path: '/slow', fn: slow.fn, timeoutMs: 300 },
    ]);
  });
  after(() => front.close());

  it('routes by route key (a literal path wins over {param}) and builds the event as API Gateway documents it', async () => {
    const res = await fetch(`${front.url}/camli/stat?b=1&a=x&a=y`, { headers: { 'X-Multi': 'v', cookie: 'c1=1; c2=2', 'user-agent': 'ua/1' } });
    assert.equal(res.status, 200);
    const e = read.events.at(-1)!;
    assert.equal(e.version, '2.0');
    assert.equal(e.routeKey, 'GET /camli/stat');
    assert.equal(e.rawPath, '/camli/stat');
    assert.equal(e.rawQueryString, 'b=1&a=x&a=y');
    assert.deepEqual(e.queryStringParameters, { b: '1', a: 'x,y' });
    assert.deepEqual(e.cookies, ['c1=1', 'c2=2']);
    assert.equal(e.headers['x-multi'], 'v');
    assert.equal(e.headers['cookie'], undefined);
    assert.equal(e.requestContext.http.method, 'GET');
    assert.equal(e.requestContext.http.path, '/camli/stat');
    assert.equal(e.requestContext.http.userAgent, 'ua/1');
    assert.equal(e.requestContext.http.sourceIp, '127.0.0.1');
    assert.equal(e.requestContext.stage, '$default');
    assert.ok(e.requestContext.requestId && e.requestContext.timeEpoch! > 0);

    await fetch(`${front.url}/camli/sha224-abc`);
    assert.equal(read.events.at(-1)!.routeKey, 'GET /camli/{blobref}');
    assert.deepEqual(read.events.at(-1)!.pathParameters, { blobref: 'sha224-abc' });
  });

  it("joins a repeated header's values with commas", async () => {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${front.url}/camli/stat`, { headers: { 'X-Rep': ['one', 'two'] } }, (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      req.end();
    });
    assert.match(read.events.at(-1)!.headers['x-rep'] ?? '', /^one, ?two$/);
  });

  it('turns the result back into HTTP: status, lowercased headers, Set-Cookie from cookies, base64 bodies decoded', async () => {
    const r1 = await fetch(`${front.url}/camli/sha224-abc`);
    assert.equal(await r1.text(), 'hi');
    assert.equal(r1.headers.get('x-side'), 'read');
    assert.deepEqual(r1.headers.getSetCookie(), ['a=1', 'b=2']);
    const body = Buffer.from([9, 8, 7, 0, 255]);
    const r2 = await fetch(`${front.url}/camli/upload/tok`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });
    assert.equal(r2.status, 201);
    assert.deepEqual(Buffer.from(await r2.arrayBuffer()), Buffer.from([0, 1, 2, 255]));
    const e = write.events.at(-1)!;
    assert.equal(e.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(e.body!, 'base64'), body);
  });

  it('answers as API Gateway itself: 404 without a route, 500 for a function error, 503 after the integration timeout', async () => {
    const none = await fetch(`${front.url}/nowhere`);
    assert.equal(none.status, 404);
    assert.deepEqual(await none.json(), { message: 'Not Found' });
    const wrongMethod = await fetch(`${front.url}/camli/stat`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 404);
    const failed = await fetch(`${front.url}/fail`);
    assert.equal(failed.status, 500);
    assert.deepEqual(await failed.json(), { message: 'Internal Server Error' });
    const timedOut = await fetch(`${front.url}/slow`);
    assert.equal(timedOut.status, 503);
    assert.deepEqual(await timedOut.json(), { message: 'Service Unavailable' });
  });

  it('refuses a payload over 10 MB with 413 before invoking anything', async () => {
    const before = write.events.length;
    const res = await fetch(`${front.url}/camli/upload/tok`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
    });
    assert.equal(res.status, 413);
    assert.deepEqual(await res.json(), { message: 'Request Entity Too Large' });
    assert.equal(write.events.length, before);
  });
});
