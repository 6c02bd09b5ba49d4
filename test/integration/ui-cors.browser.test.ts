import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromiumUnavailable, launchChromium, type TestBrowser } from '../support/browser.js';
import { dynaliteBackend } from '../support/backends.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * An app on another loopback origin using the blob server from Chromium: allowed when listed in
 * BLOBSERVER_CORS_ORIGINS (preflight, credentials, the upload URL's answer), refused when not.
 */

/** A page of another origin that stores one blob on the blob server with fetch, as an app would. */
const APP_PAGE = `<!doctype html><meta charset="utf-8"><title>app</title><script>
async function store(server, authorization, ref, text) {
  try {
    const form = new URLSearchParams({ camliversion: '1', blob1: ref });
    const pre = await fetch(server + '/camli/preupload', { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    const { uploadUrl } = await pre.json();
    const body = new FormData();
    body.append(ref, new Blob([text], { type: 'application/octet-stream' }), ref);
    const up = await fetch(uploadUrl, { method: 'POST', body });
    return 'stored: ' + JSON.stringify((await up.json()).received);
  } catch (err) {
    return 'refused: ' + err.message;
  }
}
</script>`;

describe('another origin using the blob server from Chromium (BLOBSERVER_CORS_ORIGINS)', { skip: chromiumUnavailable() }, () => {
  let app: Server;
  let appOrigin: string;
  let ts: TestServer;
  let browser: TestBrowser;

  before(async () => {
    app = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(APP_PAGE));
    await new Promise<void>((ok) => app.listen(0, '127.0.0.1', () => ok()));
    appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    ts = await startTestServer(dynaliteBackend, { BLOBSERVER_CORS_ORIGINS: `https://elsewhere.example,${appOrigin}` });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await ts?.close();
    await new Promise((ok) => app?.close(ok));
  });

  const storeFrom = async (server: string, text: string) => {
    const context = await browser.context();
    try {
      const page = await context.newPage();
      await page.goto(appOrigin);
      const ref = 'sha224-' + createHash('sha224').update(text).digest('hex');
      const authorization = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
      return {
        ref,
        answer: await page.evaluate(([s, a, r, t]) => (window as unknown as { store(...x: string[]): Promise<string> }).store(s, a, r, t), [
          server,
          authorization,
          ref,
          text,
        ] as const),
      };
    } finally {
      await context.close();
    }
  };

  it('a listed origin can upload', async () => {
    const { ref, answer } = await storeFrom(ts.url, 'from a listed origin');
    assert.match(answer, /^stored: /);
    assert.ok(answer.includes(ref));
    assert.equal((await ts.server.deps.storage.stat([ref])).has(ref), true);
  });

  it('an origin that is not listed is refused by the browser, and nothing is stored', async () => {
    const unlisted = await ts.startSibling({ BLOBSERVER_CORS_ORIGINS: 'https://elsewhere.example' });
    const { ref, answer } = await storeFrom(unlisted.url, 'from an unlisted origin');
    assert.match(answer, /^refused: Failed to fetch/);
    assert.equal((await ts.server.deps.storage.stat([ref])).has(ref), false);
  });
});
