import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dynaliteBackend } from '../support/backends.js';
import { basicAuth, multipartBody, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * BLOBSERVER_CORS_ORIGINS on the local server, as the stack's `corsOrigins` configures API
 * Gateway and the bucket: listed origins get their preflights answered and CORS headers on
 * answers (the API and the S3 front that stands for the bucket); others get none. And the page
 * at /ui is served only with credentials.
 */

const LISTED = 'http://127.0.0.1:4321';
const UNLISTED = 'http://127.0.0.1:4322';

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });

async function preuploadFrom(ts: TestServer, origin: string) {
  return fetch(`${ts.url}/camli/preupload`, {
    method: 'POST',
    headers: { origin, authorization: basicAuth(), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'camliversion=1',
  });
}

describe('CORS for listed origins (BLOBSERVER_CORS_ORIGINS)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(dynaliteBackend, { BLOBSERVER_CORS_ORIGINS: `https://app.example, ${LISTED}` });
  });
  after(() => ts.close());

  it("answers a listed origin's preflight with the methods, headers and credentials the client uses", async () => {
    const res = await preflight(`${ts.url}/camli/preupload`, LISTED);
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), LISTED);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, HEAD, POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'authorization, content-type');
    assert.match(res.headers.get('vary') ?? '', /origin/i);
  });

  it('gives an origin that is not listed no CORS headers, on preflights and answers', async () => {
    const pre = await preflight(`${ts.url}/camli/preupload`, UNLISTED);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    const res = await preuploadFrom(ts, UNLISTED);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('marks answers (errors included) to a listed origin as readable by it', async () => {
    const res = await preuploadFrom(ts, LISTED);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), LISTED);
    const refused = await fetch(`${ts.url}/camli/enumerate-blobs`, { headers: { origin: LISTED } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), LISTED);
  });

  it("the S3 front (the bucket) answers uploadForm POSTs from listed origins and from the page's own origin", async () => {
    const answer = (await (await preuploadFrom(ts, LISTED)).json()) as { uploadForm: { url: string; fields: Record<string, string> } };
    const form = answer.uploadForm;
    const pre = await preflight(form.url, LISTED);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), LISTED);
    assert.equal((await preflight(form.url, UNLISTED)).headers.get('access-control-allow-origin'), null);

    const post = async (origin: string) => {
      const data = Buffer.from(`a form POST from ${origin}`);
      const ref = `sha224-${(await import('node:crypto')).createHash('sha224').update(data).digest('hex')}`;
      const { body, contentType } = multipartBody([
        ...Object.entries(form.fields).map(([name, value]) => ({ name, data: value, contentType: null, filename: null })),
        { name: 'file', filename: ref, data },
      ]);
      const res = await fetch(form.url, { method: 'POST', headers: { origin, 'content-type': contentType }, body: new Uint8Array(body), redirect: 'manual' });
      await res.arrayBuffer();
      return res;
    };
    const listed = await post(LISTED);
    assert.equal(listed.status, 303);
    assert.equal(listed.headers.get('access-control-allow-origin'), LISTED);
    const own = await post(new URL(ts.url).origin);
    assert.equal(own.headers.get('access-control-allow-origin'), new URL(ts.url).origin);
    assert.equal((await post(UNLISTED)).headers.get('access-control-allow-origin'), null);
  });
});

describe('no CORS without BLOBSERVER_CORS_ORIGINS; the page behind the credentials', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(dynaliteBackend);
  });
  after(() => ts.close());

  it('a preflight is an unknown route, as on a stack without corsOrigins', async () => {
    const res = await preflight(`${ts.url}/camli/preupload`, LISTED);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('GET /ui asks for credentials, then serves one self-contained page', async () => {
    const refused = await fetch(`${ts.url}/ui`);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Basic /);
    const res = await fetch(`${ts.url}/ui`, { headers: { authorization: basicAuth() } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();
    assert.match(html, /<script type="module">/);
    assert.doesNotMatch(html, /<script[^>]+src=/, 'no script is loaded from elsewhere');
    // Issue 25: scripts only by hash (no 'unsafe-inline'), connections only to this API and the bucket.
    const csp = new Map(
      (res.headers.get('content-security-policy') ?? '').split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values];
      }),
    );
    const scripts = csp.get('script-src') ?? [];
    assert.ok(!scripts.includes("'unsafe-inline'"), scripts.join(' '));
    const inline = /<script type="module">([\s\S]*?)<\/script>/.exec(html)![1]!;
    assert.ok(scripts.includes(`'sha256-${createHash('sha256').update(inline).digest('base64')}'`), 'the page script is allowed by its hash');
    const connect = csp.get('connect-src') ?? [];
    assert.equal(connect.length, 2, connect.join(' '));
    assert.equal(connect[0], "'self'");
    // The local server's S3 front, by the other loopback name (presigned URLs go there).
    assert.match(connect[1]!, /^http:\/\/(localhost|127\.0\.0\.1):[0-9]+$/);
    assert.notEqual(connect[1], new URL(ts.url).origin);
  });
});
