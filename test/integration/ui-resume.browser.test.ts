import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { chromiumUnavailable } from '../support/browser.js';
import { USER } from '../support/test-server.js';
import { midUpload, openPage, startPageSetting, waitForState, type PageSetting } from '../support/ui-page.js';

/**
 * The page at /ui in Chromium when things go wrong: it resumes after a reload without sending
 * stored blobs again, and says in words when the credentials are refused or the server goes away.
 */

describe('the page at /ui in Chromium: reloads, refusals, failures', { skip: chromiumUnavailable() }, () => {
  let setting: PageSetting;
  before(async () => {
    setting = await startPageSetting();
  });
  after(() => setting?.close());

  it('resumes after a reload without sending the blobs already stored', async () => {
    // Each upload answer held a little, so the reload lands mid-upload.
    const { page, front, folder, context } = await midUpload(setting, 'resume', 40);
    try {
      const before = new Set(front.received);
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
    const none = await setting.browser.context();
    const wrong = await setting.browser.context({ httpCredentials: { username: USER, password: 'wrong' } });
    const right = await setting.signedIn();
    try {
      // The page itself is behind the credentials: without them, or with wrong ones, the
      // browser gets the Basic challenge and shows no page (a person gets the browser's prompt).
      // (Headless Chromium either shows the 401 answer or fails the navigation.)
      for (const context of [none, wrong]) {
        const page = await context.newPage();
        const status = await page.goto(`${setting.ts.url}/ui`).then(
          (res) => res?.status(),
          (err: Error) => (/ERR_INVALID_AUTH_CREDENTIALS/.test(err.message) ? 401 : Promise.reject(err)),
        );
        assert.equal(status, 401);
      }

      // Signing in on the page with a wrong password.
      const page = await openPage(right, setting.ts.url);
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
    const { page, front, context } = await midUpload(setting, 'gone', 30);
    try {
      front.goAway();
      await waitForState(page, 'failed', 120_000);
      assert.match((await page.textContent('#error')) ?? '', /The server cannot be reached .*choose the same files again to resume/s);
    } finally {
      await context.close();
      await front.close();
    }
  });
});
