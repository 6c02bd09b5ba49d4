import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';

/**
 * Builds the page at /ui: its worker (ui/worker.ts, with the client library) and its script
 * (ui/app.ts) bundled by esbuild and inlined into ui/index.html, one self-contained document.
 * infra/ builds it into the read side's bundle; the local server builds it when first asked.
 */

const UI_DIR = dirname(fileURLToPath(import.meta.url));

const COMMON: BuildOptions = {
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'chrome111',
  minify: true,
  legalComments: 'none',
  // The client loads these only under Node (hash.ts: node:crypto; node-post.ts: node:http(s) and
  // node:stream; encrypt/age-pool.ts: worker threads).
  external: ['node:crypto', 'node:http', 'node:https', 'node:stream', 'node:os', 'node:worker_threads'],
  logLevel: 'silent',
};

/**
 * The benchmark's hooks (window.blobserverUi.bench, the worker's hashing comparison with
 * @noble/hashes) are compiled in only when BLOBSERVER_UI_BENCH=1 at build time (bench/ui.ts
 * sets it): the page the server serves has none of them.
 */
const uiBench = () => process.env['BLOBSERVER_UI_BENCH'] === '1';

function bundle(entry: string, define: Record<string, string> = {}): string {
  const out = buildSync({ ...COMMON, entryPoints: [join(UI_DIR, entry)], define: { UI_BENCH: String(uiBench()), ...define } });
  // Inline in a <script>: "</script" must not appear in it.
  return out.outputFiles![0]!.text.replace(/<\/(script)/gi, '<\\/$1');
}

export function buildUiPageSync(): string {
  const worker = bundle('worker.ts');
  const app = bundle('app.ts', { UI_WORKER_SOURCE: JSON.stringify(worker) });
  const html = readFileSync(join(UI_DIR, 'index.html'), 'utf8');
  return html.replace('<!--app-->', () => `<script type="module">${app}</script>`);
}

let built: Promise<string> | undefined;

/** The page, built once per process. */
export function buildUiPage(): Promise<string> {
  built ??= Promise.resolve().then(buildUiPageSync);
  return built;
}
