import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumUnavailable, launchChromium, type TestBrowser } from '../support/browser.js';
import { dynaliteBackend } from '../support/backends.js';
import { startRecordingFront, type RecordingFront } from '../support/recording-front.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The page at /ui in Debian's Chromium (DESIGN §10), against the local server: what it stores
 * is restored by the CLI byte for byte, it resumes after a reload without sending stored blobs
 * again, it says in words what went wrong, and other origins get CORS only when listed.
 */

const BIN = fileURLToPath(new URL('../../client/bin/blobserver.js', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const AUTH = `userpass:${USER}:${PASSWORD}`;
/** Smaller than a 1 MiB chunk: such chunks go through uploadForm straight to S3, as blobs above the cap do. */
const MAX_UPLOAD_SIZE = '600000';

function cli(args: string[], server: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, BLOBSERVER_URL: server, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: '/nonexistent' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** Every file under `dir` (relative path -> bytes), for comparing trees. */
async function treeOf(dir: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) for (const [k, v] of await treeOf(path, `${prefix}${name}/`)) out.set(k, v);
    else out.set(prefix + name, await readFile(path));
  }
  return out;
}

async function writeFiles(dir: string, count: number, size: () => number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(join(dir, `file-${String(i).padStart(3, '0')}.bin`), randomBytes(size()));
}

/** The page signed in (the browser's own Basic credentials), its worker ready. */
async function openPage(context: BrowserContext, base: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  const res = await page.goto(`${base}/ui`);
  assert.equal(res?.status(), 200);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return page;
}

const waitForState = (page: Page, state: 'done' | 'failed', timeout = 150_000) => page.waitForSelector(`#state[data-state="${state}"]`, { state: 'attached', timeout });
const results = (page: Page) => page.$$eval('#results tr[data-ref]', (rows) => rows.map((r) => ({ name: (r as HTMLElement).dataset.name!, ref: (r as HTMLElement).dataset.ref! })));

describe('the page at /ui in Chromium', { skip: chromiumUnavailable() }, () => {
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

  it('stores a folder of 200 files and a 20 MB file as blobserver put does; the CLI restores them byte for byte', async () => {
    const folder = join(work, 'two-hundred');
    await writeFiles(folder, 180, () => Math.floor(Math.random() * 6000));
    await writeFiles(join(folder, 'sub'), 20, () => Math.floor(Math.random() * 6000));
    // Random bytes (chunks of about 64 KiB, through the upload URL) around a run of zeros
    // (1 MiB chunks, above the request cap: through uploadForm straight to S3).
    const big = join(work, 'big.bin');
    await writeFile(big, Buffer.concat([randomBytes(9 << 20), Buffer.alloc(3 << 20), randomBytes(20_000_000 - (12 << 20))]));

    const front = await startRecordingFront(ts.url);
    const context = await browser.context(credentials);
    try {
      const page = await openPage(context, front.url);
      await page.setInputFiles('#folder', folder);
      await waitForState(page, 'done');
      await page.setInputFiles('#files', big);
      await page.waitForSelector('#results tr[data-name="big.bin"]', { state: 'attached', timeout: 150_000 });
      await waitForState(page, 'done');
      const stored = await results(page);
      assert.deepEqual(stored.map((r) => r.name).sort(), ['big.bin', 'two-hundred']);
      assert.ok(front.requests.some((r) => r.startsWith('POST /camli/upload/')), 'small blobs went through the signed upload URL');
      assert.ok(front.requests.some((r) => r.startsWith('GET /camli/upload-complete/')), 'a 1 MiB chunk went through uploadForm');
      assert.equal(new Set(front.received).size, front.received.length, 'no blob was sent twice');

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'ui.png'), fullPage: true });

      const out = join(work, 'restored');
      await mkdir(out);
      for (const r of stored) {
        const got = await cli(['get', r.ref, '-o', out], ts.url);
        assert.equal(got.code, 0, got.stderr);
      }
      assert.deepEqual(await readFile(join(out, 'big.bin')), await readFile(big));
      const want = await treeOf(folder);
      const have = await treeOf(join(out, 'two-hundred'));
      assert.equal(have.size, 200);
      assert.deepEqual([...have.keys()].sort(), [...want.keys()].sort());
      for (const [path, bytes] of want) assert.ok(have.get(path)!.equals(bytes), `${path} differs`);
    } finally {
      await context.close();
      await front.close();
    }
  });

  it('takes dropped files', async () => {
    const context = await browser.context(credentials);
    try {
      const page = await openPage(context, ts.url);
      // A drop as the page gets it from the desktop: a DataTransfer holding files.
      await page.evaluate(() => {
        const data = new DataTransfer();
        data.items.add(new File(['dropped one\n'], 'one.txt', { lastModified: 1_700_000_000_000 }));
        data.items.add(new File([new Uint8Array(100_000).fill(7)], 'two.bin', { lastModified: 1_700_000_000_000 }));
        document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      });
      await waitForState(page, 'done');
      const stored = await results(page);
      assert.deepEqual(stored.map((r) => r.name).sort(), ['one.txt', 'two.bin']);
      const out = await mkdtemp(join(work, 'dropped-'));
      for (const r of stored) assert.equal((await cli(['get', r.ref, '-o', out], ts.url)).code, 0);
      assert.equal(await readFile(join(out, 'one.txt'), 'utf8'), 'dropped one\n');
      assert.deepEqual(await readFile(join(out, 'two.bin')), Buffer.alloc(100_000, 7));
    } finally {
      await context.close();
    }
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
      for (const context of [none, wrong]) {
        await assert.rejects((await context.newPage()).goto(`${ts.url}/ui`), /ERR_INVALID_AUTH_CREDENTIALS/);
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
      const ref = 'sha224-' + (await import('node:crypto')).createHash('sha224').update(text).digest('hex');
      const authorization = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
      return { ref, answer: await page.evaluate(([s, a, r, t]) => (window as unknown as { store(...x: string[]): Promise<string> }).store(s, a, r, t), [server, authorization, ref, text]) };
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
