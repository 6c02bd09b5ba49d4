import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ENTRIES, PROJECT_ROOT } from '../../infra/bundling.js';

/**
 * Every file a synthesis of the stack is made from, so that the lanes' caches of a synthesis
 * (the permission lane's template, the deployed-artifact lane's cdk.out) are keyed by all of it:
 * the app (infra/app.ts), each function's bundle entry, the page infra/ builds into the read
 * bundle (ui/app.ts and ui/worker.ts, which take the client library from client/, and
 * ui/index.html), and what they import, followed through relative imports; plus the files that
 * decide how they build (the lock file, package.json, tsconfig.json, cdk.json).
 * test/unit/synth-inputs.test.ts checks the list against the inputs esbuild reports for the bundles.
 */

/** Entries beyond the functions': the app itself, and the page's two esbuild entries (ui/build.ts). */
const OTHER_ENTRIES = ['infra/app.ts', 'ui/app.ts', 'ui/worker.ts'];
/** Read, not imported: ui/build.ts inlines the page into this document; the rest decide the build. */
const READ_FILES = ['ui/index.html', 'package-lock.json', 'package.json', 'tsconfig.json', 'cdk.json'];

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^;'"]*?\sfrom\s+)?'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

/** The file a relative specifier names: TypeScript sources are imported by their .js name. */
function resolveSpec(from: string, spec: string): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  const candidates = base.endsWith('.js') ? [base.replace(/\.js$/, '.ts'), base] : [base, `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => existsSync(join(PROJECT_ROOT, c)));
}

/** Project-relative paths of every input, sorted. */
export function synthInputs(): string[] {
  const seen = new Set<string>();
  const queue = [...Object.values(ENTRIES), ...OTHER_ENTRIES];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      const target = resolveSpec(file, spec);
      if (!target) throw new Error(`${file}: cannot resolve ${spec}`);
      queue.push(target);
    }
  }
  return [...seen, ...READ_FILES].sort();
}

/** A digest of every input's path and content. */
export async function synthInputsDigest(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of synthInputs()) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(join(PROJECT_ROOT, file)))
      .update('\0');
  }
  return hash.digest('hex');
}
