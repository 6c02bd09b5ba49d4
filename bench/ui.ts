import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startLocalServer, type LocalServer } from '../local/server.js';
import { chromiumUnavailable, launchChromium } from '../test/support/browser.js';
import { median } from './measure.js';
import { fmt, table } from './table.js';

/**
 * The page at /ui in Debian's Chromium: SHA-224 in its worker (hash-wasm, and @noble/hashes
 * for comparison, interleaved in one run), chunking + hashing as `put` does it, and a 20 MB
 * file dropped on the page until it is stored, once with every chunk through uploadForm
 * (straight to S3, the request cap below the smallest chunk) and once through the upload URL.
 */

const HASH_MB = 64;
const HASH_REPS = 5;
const FILE_BYTES = 20_000_000;
const UPLOAD_REPS = 3;

interface PageHash {
  sha224: number;
  noble: number;
  chunked: number;
}

export async function uiBench(): Promise<void> {
  const unavailable = chromiumUnavailable();
  if (unavailable) {
    console.log(`\n13. the page at /ui in Chromium: skipped (${unavailable})`);
    return;
  }
  // The page's benchmark hooks are compiled in only for this (ui/build.ts).
  process.env['BLOBSERVER_UI_BENCH'] = '1';
  const dir = await mkdtemp(join(tmpdir(), 'blobserver-bench-ui-'));
  const servers: LocalServer[] = [];
  const browser = await launchChromium();
  try {
    const start = async (env: Record<string, string>) => {
      const s = await startLocalServer({ PORT: '0', BLOBSERVER_DATA_DIR: join(dir, `data-${servers.length}`), POWERTOOLS_LOG_LEVEL: 'CRITICAL', ...env });
      servers.push(s);
      return s;
    };
    // Below the smallest chunk (64 KiB): every chunk is sent through uploadForm.
    const viaForm = await start({ BLOBSERVER_MAX_UPLOAD_SIZE: '60000' });
    const viaUrl = await start({});
    const context = await browser.context();
    const open = async (server: LocalServer) => {
      const page = await context.newPage();
      await page.goto(`${server.url}/ui`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      return page;
    };
    const formPage = await open(viaForm);
    const urlPage = await open(viaUrl);

    const hashes: PageHash[] = [];
    for (let i = 0; i < HASH_REPS; i++)
      hashes.push(
        (await formPage.evaluate(
          (mb) => (window as unknown as { blobserverUi: { bench(mb: number): Promise<PageHash> } }).blobserverUi.bench(mb),
          HASH_MB,
        )) as PageHash,
      );
    console.log(`\n13. the page at /ui in Chromium (${browser.version()}), worker hashing of ${HASH_MB} MiB, median of ${HASH_REPS} (MB/s)`);
    const med = (k: keyof PageHash) => fmt(median(hashes.map((h) => h[k])));
    console.log(
      table(["SHA-224 (hash-wasm, the page's)", 'SHA-224 (@noble/hashes)', 'chunk + hash (as put)'], [[med('sha224'), med('noble'), med('chunked')]]),
    );

    const times: Record<'form' | 'url', number[]> = { form: [], url: [] };
    for (let i = 0; i < UPLOAD_REPS; i++) {
      for (const [lane, page] of [
        ['form', formPage],
        ['url', urlPage],
      ] as const) {
        const file = join(dir, `file-${lane}-${i}.bin`);
        await writeFile(file, randomBytes(FILE_BYTES)); // fresh bytes: nothing already stored
        const t = performance.now();
        await page.setInputFiles('#files', file);
        await page.waitForSelector('#state[data-state="done"]', { state: 'attached', timeout: 300_000 });
        times[lane].push(performance.now() - t);
        await page.evaluate(() => (document.getElementById('state')!.dataset['state'] = 'idle'));
        await rm(file);
      }
    }
    const row = (what: string, ms: number[]) => [what, fmt(median(ms)), fmt(FILE_BYTES / 1e6 / (median(ms) / 1000), 1)];
    console.log(`    a ${FILE_BYTES / 1e6} MB file picked on the page until stored (hash, chunk, preupload, send), median of ${UPLOAD_REPS}, interleaved`);
    console.log(
      table(
        ['lane', 'ms', 'MB/s'],
        [row('every chunk through uploadForm (S3 POST + completion)', times.form), row('chunks batched to the upload URL', times.url)],
      ),
    );
  } finally {
    await browser.close();
    for (const s of servers) await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await uiBench();
