import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromiumUnavailable, launchChromium, type TestBrowser } from '../support/browser.js';
import { dynaliteBackend } from '../support/backends.js';
import { startRecordingFront } from '../support/recording-front.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';
import { MAX_UPLOAD_SIZE, openPage, waitForState, writeFiles } from '../support/ui-page.js';

/**
 * The page at /ui in Chromium when things go wrong: it resumes after a reload without sending
 * stored blobs again, and says in words when the credentials are refused or the server goes away.
 */

describe('the page at /ui in Chromium: reloads, refusals, failures', { skip: chromiumUnavailable() }, () => {
  let ts: TestServer;
  let browser: TestBrowser;
  let work: string;
  const credentials = { httpCredentials: { username: USER, password: PASSWORD } };

  before(async () => {
    ts = await startTestServer(dynaliteBackend, { BLOBSERVER_MAX_UPLOAD_SIZE: MAX_UPLOAD_SIZE });
    browser = await launchChromium();
    work = await mkdtemp(join(tmpdir(), 'blobserver-ui-'));
  });
  after(async () => {
    await browser?.close();
    await ts?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('resumes after a reload without sending the blobs already stored', async () => {
    const folder = join(work, 'resume');
    await writeFiles(folder, 40, () => 300_000);
    // Each upload answer held a little, so the reload lands mid-upload.
    const front = await startRecordingFront(ts.url, { delayUploadsMs: 400 });
    const context = await browser.context(credentials);
    try {
      const page = await openPage(context, front.url);
      await page.setInputFiles('#folder', folder);
      for (let i = 0; i < 600 && front.received.length === 0; i++) await new Promise((ok) => setTimeout(ok, 50));
      const before = new Set(front.received);
      assert.ok(before.size > 0, 'some blobs were stored before the reload');
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      assert.match((await page.textContent('#notice')) ?? '', /did not finish.*same files again/s);
      const afterReload = front.received.length;
      await page.setInputFiles('#folder', folder);
      await waitForState(page, 'done');
      const resent = front.received.slice(afterReload).filter((r) => before.has(r));
      assert.deepEqual(resent, [], 'blobs stored before the reload were sent again');
      assert.ok(front.received.length > afterReload, 'the rest was sent after the reload');
      const skipped = Number(await page.getAttribute('#totals', 'data-skipped'));
      assert.ok(skipped >= before.size, `${skipped} blobs found already stored, ${before.size} were stored before the reload`);
      assert.equal(await page.isHidden('#notice'), true);
    } finally {
      await context.close();
      await front.close();
    }
  });

  it('says in words when the credentials are refused', async () => {
    const none = await browser.context();
    const wrong = await browser.context({ httpCredentials: { username: USER, password: 'wrong' } });
    const right = await browser.context(credentials);
    try {
      // The page itself is behind the credentials: without them, or with wrong ones, the
      // browser gets the Basic challenge and shows no page (a person gets the browser's prompt).
      // (Headless Chromium either shows the 401 answer or fails the navigation.)
      for (const context of [none, wrong]) {
        const page = await context.newPage();
        const status = await page.goto(`${ts.url}/ui`).then(
          (res) => res?.status(),
          (err: Error) => (/ERR_INVALID_AUTH_CREDENTIALS/.test(err.message) ? 401 : Promise.reject(err)),
        );
        assert.equal(status, 401);
      }

      // Signing in on the page with a wrong password.
      const page = await openPage(right, ts.url);
      await page.fill('#user', USER);
      await page.fill('#password', 'not the password');
      await page.click('#sign-in button');
      await page.waitForSelector('#error:not([hidden])');
      assert.match((await page.textContent('#error')) ?? '', /refused the credentials \(invalid credentials\)/);
    } finally {
      await Promise.all([none.close(), wrong.close(), right.close()]);
    }
  });

  it('says in words when the server goes away mid-upload', async () => {
    const folder = join(work, 'gone');
    await writeFiles(folder, 30, () => 300_000);
    const front = await startRecordingFront(ts.url, { delayUploadsMs: 400 });
    const context = await browser.context(credentials);
    try {
      const page = await openPage(context, front.url);
      await page.setInputFiles('#folder', folder);
      for (let i = 0; i < 600 && front.received.length === 0; i++) await new Promise((ok) => setTimeout(ok, 50));
      front.goAway();
      await waitForState(page, 'failed', 120_000);
      assert.match((await page.textContent('#error')) ?? '', /The server cannot be reached .*choose the same files again to resume/s);
    } finally {
      await context.close();
      await front.close();
    }
  });
});
