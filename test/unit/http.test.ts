import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpError } from '../../lambda/core/http/errors.js';
import { isHostAuthority, publicBaseUrl, type HttpEvent } from '../../lambda/core/http/http.js';
import { matchRoute, toEvent } from '../../local/event.js';

/**
 * Issue 8 item 5: the upload URL is built from the request, so what the client sends must not
 * be reflected into it unchecked: only http/https, only a well-formed host, and behind API
 * Gateway the API's own domain whatever Host says.
 */

function localEvent(headers: Record<string, string>): HttpEvent {
  return toEvent({ method: 'POST', url: '/camli/preupload', headers, body: Buffer.alloc(0), sourceIp: '127.0.0.1' }, matchRoute('POST', '/camli/preupload'));
}

const refused = (status: number) => (err: unknown) => err instanceof HttpError && err.status === status;

describe('publicBaseUrl', () => {
  it('behind API Gateway uses the API domain from the request context, never the Host header', () => {
    const event = localEvent({ host: 'evil.example', 'x-forwarded-proto': 'https' });
    event.requestContext.domainName = 'abc123.execute-api.eu-west-1.amazonaws.com';
    assert.equal(publicBaseUrl(event), 'https://abc123.execute-api.eu-west-1.amazonaws.com');
    event.requestContext.stage = 'prod';
    assert.equal(publicBaseUrl(event), 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
  });

  it('locally reflects a well-formed Host and an http/https scheme', () => {
    for (const [host, proto, want] of [
      ['127.0.0.1:3179', 'http', 'http://127.0.0.1:3179'],
      ['localhost:3179', 'https', 'https://localhost:3179'],
      ['Blobs.Example', 'HTTP', 'http://blobs.example'],
      ['[::1]:8080', 'http', 'http://[::1]:8080'],
    ] as const) {
      assert.equal(publicBaseUrl(localEvent({ host, 'x-forwarded-proto': proto })), want, host);
    }
  });

  it('refuses any scheme but http and https with 400', () => {
    for (const proto of ['javascript', 'file', 'ftp', 'http:', 'https://x', 'data']) {
      assert.throws(() => publicBaseUrl(localEvent({ host: 'blobs.example', 'x-forwarded-proto': proto })), refused(400), proto);
    }
  });

  it('refuses a Host that is not a host name or address with an optional port with 400', () => {
    const bad = [
      'evil.example/x',
      'evil.example:666/camli',
      'user@evil.example',
      'evil.example:0',
      'evil.example:65536',
      'a b',
      'evil.example#',
      '[not-ipv6]',
      '-x.example',
      'x..example',
      'evil.example:',
    ];
    for (const host of bad) {
      assert.equal(isHostAuthority(host), false, host);
      assert.throws(() => publicBaseUrl(localEvent({ host, 'x-forwarded-proto': 'http' })), refused(400), host);
    }
  });
});
