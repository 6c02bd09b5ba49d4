import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_UPLOAD_SIZE, LAMBDA_EVENT_LIMIT } from '../../lambda/core/limits.js';
import { ROUTES } from '../../lambda/routes.js';
import { exceedsEventLimit, fromResult, matchRoute, toEvent, type PlainRequest, type RoutePlace } from '../../local/event.js';

const ROUTE_TABLE: RoutePlace[] = [
  { method: 'GET', path: '/camli/{blobref}', side: 'read' },
  { method: 'GET', path: '/camli/enumerate-blobs', side: 'read' },
  { method: 'POST', path: '/camli/upload/{token}', side: 'write' },
  { method: 'POST', path: '/camli/upload', side: 'write' },
];

describe('matchRoute', () => {
  it('prefers a literal route over a parameter in the same place, whatever the table order', () => {
    assert.equal(matchRoute('GET', '/camli/enumerate-blobs', ROUTE_TABLE)?.route.path, '/camli/enumerate-blobs');
    assert.equal(matchRoute('GET', '/camli/enumerate-blobs', [...ROUTE_TABLE].reverse())?.route.path, '/camli/enumerate-blobs');
  });

  it('binds a parameter to one decoded path segment', () => {
    assert.deepEqual(matchRoute('GET', '/camli/sha1-abc', ROUTE_TABLE), { route: ROUTE_TABLE[0], pathParameters: { blobref: 'sha1-abc' } });
    assert.deepEqual(matchRoute('POST', '/camli/upload/a%2Eb%20c', ROUTE_TABLE)?.pathParameters, { token: 'a.b c' });
  });

  it('keeps a segment that is not valid percent-encoding as it came', () => {
    assert.deepEqual(matchRoute('POST', '/camli/upload/100%', ROUTE_TABLE)?.pathParameters, { token: '100%' });
  });

  it('distinguishes /camli/upload from /camli/upload/{token}', () => {
    assert.deepEqual(matchRoute('POST', '/camli/upload', ROUTE_TABLE), { route: ROUTE_TABLE[3], pathParameters: {} });
    assert.equal(matchRoute('POST', '/camli/upload/tok', ROUTE_TABLE)?.route, ROUTE_TABLE[2]);
  });

  it('matches nothing for an empty parameter, extra segments, a trailing slash or another method', () => {
    assert.equal(matchRoute('POST', '/camli/upload/', ROUTE_TABLE), undefined);
    assert.equal(matchRoute('POST', '/camli/upload/a/b', ROUTE_TABLE), undefined);
    assert.equal(matchRoute('GET', '/camli/enumerate-blobs/', ROUTE_TABLE), undefined);
    assert.equal(matchRoute('DELETE', '/camli/sha1-abc', ROUTE_TABLE), undefined);
    assert.equal(matchRoute('GET', '/other/sha1-abc', ROUTE_TABLE), undefined);
  });

  it('serves the seed routes by default', () => {
    assert.equal(matchRoute('POST', '/camli/preupload')?.route.side, 'read');
    assert.deepEqual(matchRoute('POST', '/camli/upload/t0k')?.pathParameters, { token: 't0k' });
    assert.ok(ROUTES.length >= 2);
  });
});

describe('toEvent (HTTP request -> API Gateway v2 event)', () => {
  const request = (over: Partial<PlainRequest> = {}): PlainRequest => ({
    method: 'POST',
    url: '/camli/upload/tok?a=1&a=2&b=x%20y',
    headers: { host: 'blobs.example:3179', 'content-type': 'multipart/form-data; boundary=z' },
    body: Buffer.from([0, 1, 2, 0xff, 0xfe]),
    sourceIp: '127.0.0.1',
    ...over,
  });

  it('base64-encodes a binary body', () => {
    const event = toEvent(request(), matchRoute('POST', '/camli/upload/tok'));
    assert.equal(event.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(event.body!, 'base64'), Buffer.from([0, 1, 2, 0xff, 0xfe]));
  });

  it('passes an urlencoded body as text', () => {
    const body = Buffer.from('camliversion=1&blob1=sha1-x');
    const event = toEvent(request({ headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body }), undefined);
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.body, 'camliversion=1&blob1=sha1-x');
  });

  it('has no body and isBase64Encoded false for an empty request', () => {
    const event = toEvent(request({ body: Buffer.alloc(0) }), undefined);
    assert.equal(event.body, undefined);
    assert.equal(event.isBase64Encoded, false);
  });

  it('lower-cases header names and joins repeated ones', () => {
    const event = toEvent(request({ headers: { 'X-Custom-Header': 'v', Accept: ['a/b', 'c/d'], 'content-type': 'text/plain' } as never }), undefined);
    assert.equal(event.headers['x-custom-header'], 'v');
    assert.equal(event.headers['accept'], 'a/b,c/d');
    assert.ok(Object.keys(event.headers).every((k) => k === k.toLowerCase()));
  });

  it('carries route key, path parameters, raw path and query, method and domain name', () => {
    const event = toEvent(request(), matchRoute('POST', '/camli/upload/tok'));
    assert.equal(event.routeKey, 'POST /camli/upload/{token}');
    assert.equal(event.requestContext.routeKey, 'POST /camli/upload/{token}');
    assert.deepEqual(event.pathParameters, { token: 'tok' });
    assert.equal(event.rawPath, '/camli/upload/tok');
    assert.equal(event.rawQueryString, 'a=1&a=2&b=x%20y');
    assert.deepEqual(event.queryStringParameters, { a: '1,2', b: 'x y' });
    assert.equal(event.requestContext.http.method, 'POST');
    assert.equal(event.requestContext.domainName, 'blobs.example:3179');
    assert.equal(event.requestContext.stage, '$default');
    assert.ok(event.requestContext.requestId);
  });

  it('uses $default as route key for an unmatched request', () => {
    const event = toEvent(request({ url: '/nowhere' }), undefined);
    assert.equal(event.routeKey, '$default');
    assert.equal(event.pathParameters, undefined);
    assert.equal(event.queryStringParameters, undefined);
  });
});

describe('the Lambda event size limit', () => {
  const uploadOf = (size: number) =>
    toEvent(
      {
        method: 'POST',
        url: '/camli/upload/' + 'k'.repeat(120),
        headers: {
          host: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
          'content-type': 'multipart/form-data; boundary=' + 'b'.repeat(60),
          'user-agent': 'pk-put/0.12',
        },
        body: Buffer.alloc(size, 0x61),
        sourceIp: '127.0.0.1',
      },
      matchRoute('POST', '/camli/upload/tok'),
    );

  it('lets an upload of the default maxUploadSize through: the advertised limit fits the platform', () => {
    assert.equal(exceedsEventLimit(uploadOf(DEFAULT_MAX_UPLOAD_SIZE)), false);
  });

  it('refuses an event whose base64 body alone is over 6 MB', () => {
    assert.equal(exceedsEventLimit(uploadOf(Math.ceil((LAMBDA_EVENT_LIMIT * 3) / 4) + 3)), true);
  });

  it('counts the whole event, not just the body', () => {
    // A body just under the limit once base64-encoded still overflows with the event around it.
    assert.equal(exceedsEventLimit(uploadOf(Math.floor((LAMBDA_EVENT_LIMIT * 3) / 4) - 3)), true);
  });

  it('refuses an event one byte over the limit as serialised, and takes one exactly at it', () => {
    const body = Buffer.alloc(4_700_000, 0x61);
    const upload = (pad: string) =>
      toEvent(
        { method: 'POST', url: '/camli/upload', headers: { 'content-type': 'application/octet-stream', 'x-pad': pad }, body, sourceIp: '127.0.0.1' },
        matchRoute('POST', '/camli/upload'),
      );
    const atLimit = 'q'.repeat(LAMBDA_EVENT_LIMIT - Buffer.byteLength(JSON.stringify(upload(''))));
    assert.equal(Buffer.byteLength(JSON.stringify(upload(atLimit))), LAMBDA_EVENT_LIMIT);
    assert.equal(exceedsEventLimit(upload(atLimit)), false);
    assert.equal(exceedsEventLimit(upload(atLimit + 'q')), true);
  });
});

describe('fromResult (handler result -> HTTP response)', () => {
  it('decodes a base64 body, lower-cases headers and sets Content-Length', () => {
    const out = fromResult({
      statusCode: 201,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    });
    assert.equal(out.status, 201);
    assert.deepEqual(out.body, Buffer.from([1, 2, 3]));
    assert.deepEqual(out.headers, { 'content-type': 'application/octet-stream', 'content-length': '3' });
  });

  it('counts Content-Length in bytes, not characters', () => {
    assert.equal(fromResult({ statusCode: 200, body: 'é' }).headers['content-length'], '2');
  });
});
