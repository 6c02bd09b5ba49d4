import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServerClient } from '../../client/http-client.js';
import { chromiumUnavailable } from '../support/browser.js';
import { basicAuth } from '../support/test-server.js';
import { AUTH, openPage, results, startPageSetting, waitForState, type PageSetting } from '../support/ui-page.js';
import { addCredential } from './credentials.suite.js';

/**
 * The page respects the signed-in credential's scope (GET /camli/credential): an upload-only
 * credential (a phone's) uploads and is shown no listing, and no error for the listing it may
 * not read; a read-only one lists and gets no drop zone.
 */
describe('the page at /ui in Chromium: scoped credentials', { skip: chromiumUnavailable() }, () => {
  let setting: PageSetting;
  before(async () => {
    setting = await startPageSetting();
  });
  after(() => setting?.close());

  it('an upload-only credential uploads, sees no server listing and no error', async () => {
    const phone = await addCredential(setting.ts.url, basicAuth(), { label: 'phone', namespaces: ['/'], operations: ['write'] });
    const context = await setting.browser.context({ httpCredentials: { username: phone.id, password: phone.secret } });
    const enumerations: number[] = [];
    // Every response in the context, the page's worker's included, from the first.
    context.on('response', (r) => {
      if (r.url().includes('/camli/enumerate-blobs')) enumerations.push(r.status());
    });
    try {
      const page = await openPage(context, setting.ts.url);
      await page.waitForSelector('body[data-operations="write"]', { state: 'attached', timeout: 30_000 });
      assert.equal(await page.isHidden('#reading'), true, 'no listing, no download');
      assert.equal(await page.isVisible('#drop'), true);
      assert.match((await page.textContent('#scope-note')) ?? '', /upload only/);
      const file = join(setting.work, 'from-phone.bin');
      const bytes = randomBytes(100_000);
      await writeFile(file, bytes);
      await page.setInputFiles('#files', file);
      await waitForState(page, 'done');
      const [stored] = await results(page);
      assert.ok(stored, 'a ref is shown');
      assert.equal(await page.isHidden('#error'), true, `no error: ${await page.textContent('#error')}`);
      assert.deepEqual(enumerations, [], 'the page never asked for a listing it may not read');
      // The owner sees it stored.
      const owner = new BlobServerClient({ server: setting.ts.url, auth: AUTH });
      assert.equal((await owner.stat([stored!.ref])).length, 1);
    } finally {
      await context.close();
    }
  });

  it('a read-only credential lists the server blobs and is offered no upload', async () => {
    const viewer = await addCredential(setting.ts.url, basicAuth(), { label: 'viewer', namespaces: ['/'], operations: ['read'] });
    const context = await setting.browser.context({ httpCredentials: { username: viewer.id, password: viewer.secret } });
    const enumerations: number[] = [];
    context.on('response', (r) => {
      if (r.url().includes('/camli/enumerate-blobs')) enumerations.push(r.status());
    });
    try {
      const page = await openPage(context, setting.ts.url);
      await page.waitForSelector('body[data-operations="read"]', { state: 'attached', timeout: 30_000 });
      assert.equal(await page.isHidden('#drop'), true);
      await page.waitForSelector('#blobs tr[data-ref]', { state: 'attached', timeout: 30_000 });
      assert.equal(await page.isHidden('#error'), true);
      // The same listener the upload-only case relies on does see the worker's listing.
      assert.deepEqual(enumerations, [200]);
    } finally {
      await context.close();
    }
  });
});
