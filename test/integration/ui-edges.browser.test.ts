import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServerClient } from '../../client/http-client.js';
import { fileSchema } from '../../client/schema.js';
import { blobRefOf } from '../../client/hash.js';
import { chromiumUnavailable } from '../support/browser.js';
import {
  AUTH,
  opfsFile,
  openPage,
  results,
  savePickerIntoOpfs,
  startPageSetting,
  waitForState,
  withoutSavePicker,
  writeOpfsFile,
  type PageSetting,
} from '../support/ui-page.js';

/**
 * The page's edges (issue 25, finding 7): a name holding a backslash is refused in words, never
 * stored as a path; a download is written piece by piece and checked against the sizes its
 * schema declares, as `blobserver get` checks them: streamed into the file a save picker gives
 * (nothing committed when a check fails), or as Blob parts where the browser has no picker.
 */

describe('the page at /ui in Chromium: names and downloads', { skip: chromiumUnavailable() }, () => {
  let setting: PageSetting;
  before(async () => {
    setting = await startPageSetting();
  });
  after(() => setting?.close());

  const errorText = async (page: import('playwright-core').Page) => {
    await page.waitForSelector('#error:not([hidden])', { state: 'attached', timeout: 60_000 });
    return page.$eval('#error', (e) => e.textContent ?? '');
  };

  it('a file named a\\b.txt (picked alone, or in a folder) is refused with a message; nothing is stored', async () => {
    const dir = join(setting.work, 'backslash');
    await mkdir(join(dir, 'folder'), { recursive: true });
    await writeFile(join(dir, 'a\\b.txt'), 'backslash\n');
    await writeFile(join(dir, 'folder', 'c\\d.txt'), 'backslash\n');
    const context = await setting.signedIn();
    try {
      const page = await openPage(context, setting.ts.url);
      await page.setInputFiles('#files', join(dir, 'a\\b.txt'));
      assert.match(await errorText(page), /a\\b\.txt.*backslash/);
      assert.deepEqual(await results(page), []);
      await page.setInputFiles('#folder', join(dir, 'folder'));
      assert.match(await errorText(page), /c\\d\.txt.*backslash/);
      assert.deepEqual(await results(page), []);
      // Dropped, as the desktop hands files over.
      await page.evaluate(() => {
        const data = new DataTransfer();
        data.items.add(new File(['x'], 'e\\f.txt'));
        document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      });
      assert.match(await errorText(page), /e\\f\.txt.*backslash/);
      assert.deepEqual(await results(page), []);
    } finally {
      await context.close();
    }
  });

  /** A stored file of several chunks, through the page; its bytes and ref. */
  const storeThroughPage = async (page: import('playwright-core').Page, name: string) => {
    const bytes = randomBytes(3_000_000);
    const file = join(setting.work, name);
    await writeFile(file, bytes);
    await page.setInputFiles('#files', file);
    await waitForState(page, 'done');
    const [stored] = await results(page);
    return { bytes, ref: stored!.ref };
  };

  it('streams a download of several chunks into the file a save picker gives, byte for byte, with no browser download', async () => {
    const context = await setting.signedIn();
    await savePickerIntoOpfs(context);
    try {
      const page = await openPage(context, setting.ts.url);
      let downloads = 0;
      page.on('download', () => downloads++);
      const { bytes, ref } = await storeThroughPage(page, 'streamed.bin');
      await page.click(`#results tr[data-ref="${ref}"] button:has-text("Download")`);
      await page.waitForSelector('#saved:not([hidden])', { state: 'attached', timeout: 60_000 });
      assert.match(await page.$eval('#saved', (e) => e.textContent ?? ''), /Saved streamed\.bin \(3\.0 MB\)/);
      assert.ok((await opfsFile(page, 'streamed.bin'))?.equals(bytes), "the picked file holds the blob's bytes");
      assert.equal(downloads, 0);
    } finally {
      await context.close();
    }
  });

  it('without a save picker (Firefox, Safari), downloads a stored file of several chunks byte for byte as Blob parts', async () => {
    const context = await setting.signedIn();
    await withoutSavePicker(context);
    try {
      const page = await openPage(context, setting.ts.url);
      assert.equal(await page.evaluate(() => typeof (window as { showSaveFilePicker?: unknown }).showSaveFilePicker), 'undefined');
      const { bytes, ref } = await storeThroughPage(page, 'several-chunks.bin');
      const downloading = page.waitForEvent('download');
      await page.click(`#results tr[data-ref="${ref}"] button:has-text("Download")`);
      const download = await downloading;
      assert.equal(download.suggestedFilename(), 'several-chunks.bin');
      assert.ok((await readFile((await download.path())!)).equals(bytes));
    } finally {
      await context.close();
    }
  });

  /** File schemas whose declared chunk sizes disagree with the chunks (the last after a sound first part). */
  const lyingSchemas = async () => {
    const client = new BlobServerClient({ server: setting.ts.url, auth: AUTH });
    const chunk = new TextEncoder().encode('seven b');
    const chunkRef = blobRefOf(chunk);
    const shorter = fileSchema({ fileName: 'says-less.txt' }, [{ blobRef: chunkRef, size: 4 }]);
    const longer = fileSchema({ fileName: 'says-more.txt' }, [{ blobRef: chunkRef, size: 9 }]);
    const later = fileSchema({ fileName: 'kept.txt' }, [
      { blobRef: chunkRef, size: 7 },
      { blobRef: chunkRef, size: 9 },
    ]);
    await client.uploadBatch([{ ref: chunkRef, bytes: chunk }, shorter, longer, later]);
    return [
      [shorter, /more than 4 bytes/],
      [longer, /declares 9 bytes for .*, which has 7/],
      [later, /declares 9 bytes for .*, which has 7/],
    ] as const;
  };

  /** Asks the page for each schema by ref: each is refused in its own words. */
  const downloadEachRefused = async (page: import('playwright-core').Page, schemas: Awaited<ReturnType<typeof lyingSchemas>>) => {
    for (const [schema, why] of schemas) {
      await page.fill('#get-ref', schema.ref);
      await page.click('#get-form button');
      assert.match(await errorText(page), why);
      await page.evaluate(() => (document.getElementById('error')!.hidden = true));
    }
  };

  it('a file schema whose declared chunk sizes disagree with the chunks is refused in words, nothing downloaded', async () => {
    const schemas = await lyingSchemas();
    const context = await setting.signedIn();
    await withoutSavePicker(context);
    try {
      const page = await openPage(context, setting.ts.url);
      let downloads = 0;
      page.on('download', () => downloads++);
      await downloadEachRefused(page, schemas);
      assert.equal(downloads, 0);
    } finally {
      await context.close();
    }
  });

  it('streamed into a picked file, a refused download commits nothing: a new file is removed, an overwritten one keeps its bytes', async () => {
    const schemas = await lyingSchemas();
    const context = await setting.signedIn();
    await savePickerIntoOpfs(context);
    try {
      const page = await openPage(context, setting.ts.url);
      // kept.txt exists (the user picks it to overwrite); its refusal comes after its first part was written.
      await writeOpfsFile(page, 'kept.txt', 'what the file held before');
      await downloadEachRefused(page, schemas);
      assert.equal(await opfsFile(page, 'says-less.txt'), undefined, 'the file the picker made is removed');
      assert.equal(await opfsFile(page, 'says-more.txt'), undefined, 'the file the picker made is removed');
      assert.equal((await opfsFile(page, 'kept.txt'))?.toString(), 'what the file held before');
      assert.equal(await page.$eval('#saved', (e) => (e as HTMLElement).hidden), true);
    } finally {
      await context.close();
    }
  });
});
