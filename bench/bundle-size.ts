/**
 * Prints each Lambda function's bundle: all of it, what a cold start evaluates (index.mjs and
 * the chunks it imports statically), the lazily loaded chunks, from esbuild's metafile; and the
 * cold import time of index.mjs in a fresh `node -e` process (median of several runs).
 *
 *   npm run bundle-size            # or: tsx bench/bundle-size.ts [runs]
 *   npm run bundle-size -- --doc   # and write the table into docs/deploy.md
 *   BUNDLE_INIT_MODULES=1 ...      # and list the source modules evaluated at a cold start
 *
 * It builds with the stack's own function (infra/bundling.ts, bundleFunction), so the figures
 * are those of what `cdk deploy` uploads. Import time here is module evaluation on this
 * machine's Node, not a Lambda cold start (bench/cold-start.ts runs those in the RIE).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Metafile } from 'esbuild';
import { bundleFunction, ENTRIES, ESBUILD_TARGET, PROJECT_ROOT, type EntryName } from '../infra/bundling.js';
import { buildUiPageSync } from '../ui/build.js';
import { writeDocBlock } from './doc-block.js';
import { median } from './measure.js';
import { table } from './table.js';

const args = process.argv.slice(2);
const RUNS = Number(args.find((a) => !a.startsWith('--')) ?? 11);
const DOC = args.includes('--doc');
const OUT = join(PROJECT_ROOT, 'bench', 'out', 'bundles');

function bundle(name: EntryName): { file: string; metafile: Metafile } {
  const dir = join(OUT, name);
  // As infra/functions.ts builds the read side: the page at /ui is a constant in its bundle.
  const metafile = bundleFunction(name, dir, name === 'read' ? { define: { BLOBSERVER_UI_PAGE: JSON.stringify(buildUiPageSync()) } } : {});
  return { file: join(dir, 'index.mjs'), metafile };
}

const jsOutputs = (metafile: Metafile) => Object.entries(metafile.outputs).filter(([path]) => path.endsWith('.mjs'));

/** The output files a cold start reads: index.mjs and every chunk it imports statically, transitively. */
function atInit(metafile: Metafile, index: string): Set<string> {
  const seen = new Set<string>();
  const queue = [index];
  for (let out = queue.shift(); out !== undefined; out = queue.shift()) {
    if (seen.has(out)) continue;
    seen.add(out);
    for (const i of metafile.outputs[out]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) queue.push(i.path);
  }
  return seen;
}

/** Where the bytes come from: output bytes per npm package (or "project"), over the given outputs. */
function byPackage(metafile: Metafile, outputs: Iterable<string>): [string, number][] {
  const sizes = new Map<string, number>();
  for (const out of outputs) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[out]?.inputs ?? {})) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = m?.[1] ?? 'project';
      sizes.set(key, (sizes.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

/**
 * Milliseconds to import the file in a fresh process. With source maps on, as Lambda runs it
 * (NODE_OPTIONS=--enable-source-maps), and without, to show what the maps cost.
 */
function coldImportMs(file: string, sourceMaps: boolean): number {
  const script = 'const t=performance.now();import(process.argv[1]).then(()=>console.log((performance.now()-t).toFixed(1)))';
  const args = [...(sourceMaps ? ['--enable-source-maps'] : []), '-e', script, file];
  return Number(execFileSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).trim());
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
console.log(`node ${process.version}, esbuild target ${ESBUILD_TARGET}, ${RUNS} cold imports per function\n`);
const header = [
  'function',
  'bundle (minified, all files)',
  'at a cold start',
  'loaded on use (chunks)',
  'cold import, maps on (median/min)',
  'maps off (median)',
];
const rows: string[][] = [];
const details: string[] = [];
for (const name of Object.keys(ENTRIES) as EntryName[]) {
  const { file, metafile } = bundle(name);
  const index = relative(process.cwd(), file);
  const init = atInit(metafile, index);
  const js = jsOutputs(metafile);
  const total = js.reduce((n, [, o]) => n + o.bytes, 0);
  const initBytes = js.filter(([p]) => init.has(p)).reduce((n, [, o]) => n + o.bytes, 0);
  const withMaps = Array.from({ length: RUNS }, () => coldImportMs(file, true));
  const withoutMaps = Array.from({ length: RUNS }, () => coldImportMs(file, false));
  rows.push([
    name,
    `${kib(total)} (${total} B)`,
    `${kib(initBytes)} (${init.size} file${init.size === 1 ? '' : 's'})`,
    `${kib(total - initBytes)} (${js.length - init.size})`,
    `${median(withMaps).toFixed(1)} ms / ${Math.min(...withMaps).toFixed(1)} ms`,
    `${median(withoutMaps).toFixed(1)} ms`,
  ]);
  const top = (outputs: Iterable<string>) =>
    byPackage(metafile, outputs)
      .slice(0, 6)
      .map(([p, n]) => `${p} ${kib(n)}`)
      .join(', ');
  details.push(`${name}: ${top(js.map(([p]) => p))}\n  at a cold start: ${top(init)}`);
  if (process.env['BUNDLE_INIT_MODULES']) {
    const modules = [...init].flatMap((o) => Object.keys(metafile.outputs[o]?.inputs ?? {}));
    details.push(`  modules evaluated at a cold start: ${modules.join(' ')}`);
  }
}
console.log(table(header, rows));
console.log(`\nlargest contributors:\n${details.join('\n')}`);
if (DOC) writeDocBlock('docs/deploy.md', 'bundle-size', 'npm run bundle-size -- --doc', table(header, rows));
