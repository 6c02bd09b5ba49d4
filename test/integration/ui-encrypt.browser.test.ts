import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromiumUnavailable } from '../support/browser.js';
import { runCli } from '../support/cli.js';
import {
  AUTH,
  opfsFile,
  openPage,
  results,
  savePickerIntoOpfs,
  startPageSetting,
  treeOf,
  waitForState,
  writeFiles,
  type PageSetting,
} from '../support/ui-page.js';

/**
 * The page at /ui with a key the user supplies (Chromium): what it stores is Perkeep's encrypt
 * format in the enc-blobs/enc-meta namespaces, which `blobserver get --encrypt` restores; it
 * downloads what the CLI stored encrypted; a wrong key is refused; and the key never leaves
 * the page: no request carries it, no storage keeps it.
 */

/** A pass-through front that keeps every request's line, headers and body, to search them. */
async function startSniffer(target: string): Promise<{ url: string; seen: Buffer[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const seen: Buffer[] = [];
  const server: Server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (d: Buffer) => body.push(d));
    req.on('end', () => {
      const all = Buffer.concat(body);
      seen.push(Buffer.concat([Buffer.from(`${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n`), all]));
      const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(all);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}

describe('the page at /ui with an encryption key, in Chromium', { skip: chromiumUnavailable() }, () => {
  let setting: PageSetting;
  let env: Record<string, string>;
  before(async () => {
    setting = await startPageSetting();
    env = { BLOBSERVER_URL: setting.ts.url, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: '/nonexistent' };
  });
  after(() => setting?.close());

  it('puts and gets with a key held in memory only: the CLI reads what it stored and the reverse; a wrong key is refused', async () => {
    const keyFile = join(setting.work, 'key');
    assert.equal((await runCli(['genkey', keyFile], env)).code, 0);
    const key = (await readFile(keyFile, 'utf8')).trim();
    const folder = join(setting.work, 'secret-folder');
    await writeFiles(folder, 12, () => 1000 + Math.floor(Math.random() * 200_000));
    const sniffer = await startSniffer(setting.ts.url);
    const context = await setting.signedIn();
    await savePickerIntoOpfs(context);
    try {
      const page = await openPage(context, sniffer.url);
      await page.fill('#key', key);
      await page.click('#key-form button:not([type])');
      await page.waitForSelector('#key-state[data-encrypted="true"]', { state: 'attached', timeout: 60_000 });
      assert.equal(await page.inputValue('#key'), '', 'the key left the field');

      await page.setInputFiles('#folder', folder);
      await waitForState(page, 'done');
      const [stored] = await results(page);
      assert.equal(stored!.name, 'secret-folder');
      // Not in the root namespace: only ciphertext, under other refs, in enc-blobs.
      assert.equal((await runCli(['stat', stored!.ref], env)).code, 1);
      const out = await mkdtemp(join(setting.work, 'restored-'));
      const got = await runCli(['get', '--encrypt', keyFile, stored!.ref, '-o', out], env);
      assert.equal(got.code, 0, got.stderr);
      const want = await treeOf(folder);
      const have = await treeOf(join(out, 'secret-folder'));
      assert.deepEqual([...have.keys()].sort(), [...want.keys()].sort());
      for (const [p, bytes] of want) assert.ok(have.get(p)!.equals(bytes), `${p} differs`);

      // The CLI stores a file encrypted; the page lists it by its plaintext ref and downloads it.
      const file = join(setting.work, 'from-cli.bin');
      await writeFile(file, randomBytes(150_000));
      const put = await runCli(['put', '--encrypt', keyFile, file], env);
      assert.equal(put.code, 0, put.stderr);
      const ref = put.stdout.toString().trim();
      // Listing re-reads and decrypts the meta namespace in the page's worker (under two full
      // suites at once that once took past Playwright's 30 s default) and shows 25 blobs a page
      // in plaintext-ref order, so the file's ref may be on a later page. As a user would: refresh,
      // then page with "more" until its row is there (90 s in all).
      const row = `#blobs tr[data-ref="${ref}"]`;
      const until = Date.now() + 90_000;
      await page.click('#refresh');
      while (!(await page.$(row))) {
        assert.ok(Date.now() < until, `${ref} was never listed`);
        const more = await page.$('#more:not([hidden])');
        // The last page without it: the listing may predate the put, so start again.
        await (more ? more.click() : page.click('#refresh'));
        await page.waitForTimeout(500);
      }
      await page.fill('#get-ref', ref);
      // Streamed, decrypted piece by piece, into the file a save picker gives.
      await page.click('#get-form button');
      await page.waitForSelector('#saved:not([hidden])', { state: 'attached', timeout: 60_000 });
      assert.deepEqual(await opfsFile(page, 'from-cli.bin'), await readFile(file));

      // Another key: refused in one line (its meta is not encrypted to it), nothing listed.
      const other = join(setting.work, 'other-key');
      assert.equal((await runCli(['genkey', other], env)).code, 0);
      await page.fill('#key', (await readFile(other, 'utf8')).trim());
      await page.click('#key-form button:not([type])');
      await page.waitForSelector('#key-state[data-state="refused"]', { state: 'attached' });
      assert.match((await page.textContent('#error')) ?? '', /^encrypt: meta blob sha224-[0-9a-f]{56} is not encrypted to this key \(wrong key file\?\)$/);

      // The key was in no request (URL, headers or body) and is in no storage the page has.
      const secret = key.slice('AGE-SECRET-KEY-1'.length, 40);
      for (const r of sniffer.seen) assert.ok(!r.toString('latin1').toUpperCase().includes(secret), 'a request carried the key');
      assert.ok(sniffer.seen.length > 10);
      const kept = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
      assert.ok(!kept.toUpperCase().includes(secret));
      assert.equal((await context.cookies()).length, 0);
    } finally {
      await context.close();
      await sniffer.close();
    }
  });
});
