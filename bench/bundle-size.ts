/**
 * Prints each Lambda function's minified bundle size (from esbuild's metafile) and the cold
 * import time of the bundled file in a fresh `node -e` process (median of several runs).
 *
 *   npm run bundle-size            # or: tsx bench/bundle-size.ts [runs]
 *   npm run bundle-size -- --doc   # and write the table into docs/deploy.md
 *
 * It builds with the options the CDK stack uses (infra/bundling.ts), so the figures are those
 * of what `cdk deploy` uploads. Import time here is module evaluation on this machine's Node,
 * not a Lambda cold start (which adds the runtime's own init and arm64 CPU speed).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { BUNDLING, ENTRIES, ESBUILD_TARGET, PROJECT_ROOT, type EntryName } from '../infra/bundling.js';
import { buildUiPageSync } from '../ui/build.js';
import { writeDocBlock } from './doc-block.js';
import { median } from './measure.js';
import { table } from './table.js';

const args = process.argv.slice(2);
const RUNS = Number(args.find((a) => !a.startsWith('--')) ?? 11);
const DOC = args.includes('--doc');
const OUT = join(PROJECT_ROOT, 'bench', 'out', 'bundles');

async function bundle(name: EntryName): Promise<{ file: string; metafile: Metafile }> {
  const file = join(OUT, name, 'index.mjs');
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, ENTRIES[name])],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap ? 'linked' : false,
    sourcesContent: BUNDLING.sourcesContent,
    mainFields: BUNDLING.mainFields,
    banner: { js: BUNDLING.banner },
    external: BUNDLING.externalModules,
    // As infra/functions.ts builds the read side: the page at /ui is a constant in its bundle.
    ...(name === 'read' ? { define: { BLOBSERVER_UI_PAGE: JSON.stringify(buildUiPageSync()) } } : {}),
    metafile: true,
    logLevel: 'warning',
  });
  return { file, metafile: result.metafile };
}

/** Where the bytes come from: bundled input bytes per npm package (or "project"). */
function byPackage(metafile: Metafile, file: string): [string, number][] {
  const output = metafile.outputs[relative(process.cwd(), file)] ?? Object.values(metafile.outputs).find((o) => o.entryPoint);
  const sizes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m?.[1] ?? 'project';
    sizes.set(key, (sizes.get(key) ?? 0) + bytesInOutput);
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
const header = ['function', 'bundle (minified)', 'source map', 'cold import, maps on (median/min)', 'maps off (median)'];
const rows: string[][] = [];
const details: string[] = [];
for (const name of Object.keys(ENTRIES) as EntryName[]) {
  const { file, metafile } = await bundle(name);
  const bytes = statSync(file).size;
  const withMaps = Array.from({ length: RUNS }, () => coldImportMs(file, true));
  const withoutMaps = Array.from({ length: RUNS }, () => coldImportMs(file, false));
  rows.push([
    name,
    `${kib(bytes)} (${bytes} B)`,
    kib(statSync(`${file}.map`).size),
    `${median(withMaps).toFixed(1)} ms / ${Math.min(...withMaps).toFixed(1)} ms`,
    `${median(withoutMaps).toFixed(1)} ms`,
  ]);
  details.push(
    `${name}: ${byPackage(metafile, file)
      .slice(0, 6)
      .map(([p, n]) => `${p} ${kib(n)}`)
      .join(', ')}`,
  );
}
console.log(table(header, rows));
console.log(`\nlargest contributors:\n${details.join('\n')}`);
if (DOC) writeDocBlock('docs/deploy.md', 'bundle-size', 'npm run bundle-size -- --doc', table(header, rows));
