import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { BrowserContext, Page } from 'playwright-core';
import { dynaliteBackend } from './backends.js';
import { launchChromium, type TestBrowser } from './browser.js';
import { startRecordingFront, type RecordingFront } from './recording-front.js';
import { PASSWORD, USER, startTestServer, type TestServer } from './test-server.js';

/** What the browser tests of the page at /ui share: driving the page, making trees, restoring with the CLI. */

const BIN = fileURLToPath(new URL('../../client/bin/blobserver.js', import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
export const AUTH = `userpass:${USER}:${PASSWORD}`;
/** Smaller than a 1 MiB chunk: such chunks go through uploadForm straight to S3, as blobs above the cap do. */
export const MAX_UPLOAD_SIZE = '600000';

export function cli(args: string[], server: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], BLOBSERVER_URL: server, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: '/nonexistent' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** Every file under `dir` (relative path -> bytes), for comparing trees. */
export async function treeOf(dir: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) for (const [k, v] of await treeOf(path, `${prefix}${name}/`)) out.set(k, v);
    else out.set(prefix + name, await readFile(path));
  }
  return out;
}

export async function writeFiles(dir: string, count: number, size: () => number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(join(dir, `file-${String(i).padStart(3, '0')}.bin`), randomBytes(size()));
}

/** The page signed in (the browser's own Basic credentials), its worker ready. */
export async function openPage(context: BrowserContext, base: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  const res = await page.goto(`${base}/ui`);
  assert.equal(res?.status(), 200);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return page;
}

/** Downloads as a browser without the File System Access API makes them (Firefox, Safari): Blob parts, a download event. */
export async function withoutSavePicker(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker;
  });
}

/**
 * A save picker that answers, without a dialog (headless Chromium's dismisses itself), the file
 * of the origin-private file system named as suggested: the page's streaming path, into a real
 * FileSystemWritableFileStream that tests then read back (opfsFile).
 */
export async function savePickerIntoOpfs(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    (window as { showSaveFilePicker?: unknown }).showSaveFilePicker = async ({ suggestedName }: { suggestedName: string }) =>
      (await navigator.storage.getDirectory()).getFileHandle(suggestedName, { create: true });
  });
}

/** A file of the page's origin-private file system (its bytes, base64), or undefined when there is none. */
export async function opfsFile(page: Page, name: string): Promise<Buffer | undefined> {
  const b64 = await page.evaluate(async (n) => {
    try {
      const file = await (await (await navigator.storage.getDirectory()).getFileHandle(n)).getFile();
      const bytes = new Uint8Array(await file.arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    } catch {
      return undefined;
    }
  }, name);
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64');
}

/** Writes a file of the page's origin-private file system (one the user then picks to overwrite). */
export async function writeOpfsFile(page: Page, name: string, text: string): Promise<void> {
  await page.evaluate(
    async ([n, t]) => {
      const w = await (await (await navigator.storage.getDirectory()).getFileHandle(n!, { create: true })).createWritable();
      await w.write(t!);
      await w.close();
    },
    [name, text],
  );
}

export const waitForState = (page: Page, state: 'done' | 'failed', timeout = 150_000) =>
  page.waitForSelector(`#state[data-state="${state}"]`, { state: 'attached', timeout });
export const results = (page: Page) =>
  page.$$eval('#results tr[data-ref]', (rows) => rows.map((r) => ({ name: (r as HTMLElement).dataset['name']!, ref: (r as HTMLElement).dataset['ref']! })));

/** The browser tests' setting: a local server (request cap MAX_UPLOAD_SIZE), Chromium, a work directory. */
export interface PageSetting {
  ts: TestServer;
  browser: TestBrowser;
  work: string;
  /** A context with the server's credentials (the browser's own Basic sign-in). */
  signedIn(): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function startPageSetting(): Promise<PageSetting> {
  const ts = await startTestServer(dynaliteBackend, { BLOBSERVER_MAX_UPLOAD_SIZE: MAX_UPLOAD_SIZE });
  const browser = await launchChromium().catch(async (err) => {
    await ts.close();
    throw err;
  });
  const work = await mkdtemp(join(tmpdir(), 'blobserver-ui-'));
  return {
    ts,
    browser,
    work,
    signedIn: () => browser.context({ httpCredentials: { username: USER, password: PASSWORD } }),
    close: async () => {
      await browser.close();
      await ts.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/**
 * The page, through a recording front that holds each upload answer a little, busy storing a
 * folder of `count` files of 300 kB; resolves once the first upload was answered (mid-upload).
 */
export async function midUpload(
  setting: PageSetting,
  name: string,
  count: number,
): Promise<{ page: Page; front: RecordingFront; folder: string; context: BrowserContext }> {
  const folder = join(setting.work, name);
  await writeFiles(folder, count, () => 300_000);
  const front = await startRecordingFront(setting.ts.url, { delayUploadsMs: 400 });
  const context = await setting.signedIn();
  const page = await openPage(context, front.url);
  await page.setInputFiles('#folder', folder);
  for (let i = 0; i < 600 && front.received.length === 0; i++) await new Promise((ok) => setTimeout(ok, 50));
  assert.ok(front.received.length > 0, 'an upload was answered');
  return { page, front, folder, context };
}
