#!/usr/bin/env node
/**
 * `npm run lint` (and so `npm test`) runs this: the import rules of lambda/core/, written down in
 * lambda/core/README.md, checked. Each folder of the core may import its own modules and the
 * folders listed for it (the root modules are `.`). `deps.ts` is the wiring layer: it may import
 * anything, only routing/ (and the code above the core) may import it, and any module may take the
 * `Deps` type from it (`import type`, erased from the bundle). Nothing under lambda/
 * imports the dev server, the scripts, the tests or the benchmarks, and the core never imports the
 * route table or the handlers above it. Prints each broken rule with its file and exits 1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The repository's root; a test passes another tree's (a copy with a broken rule) as the argument.
const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const CORE = 'lambda/core';

/** Bottom to top: a folder may import the ones before it that are listed. */
export const MAY_IMPORT = {
  '.': ['.'],
  aws: ['.'],
  storage: ['.', 'aws'],
  fsck: ['.', 'aws', 'storage'],
  http: ['.'],
  auth: ['.', 'aws', 'http'],
  upload: ['.', 'aws', 'http', 'auth', 'storage'],
  read: ['.', 'aws', 'http', 'storage'],
  routing: ['.', 'aws', 'http', 'auth', 'upload', 'read', 'storage', 'deps.ts'],
  // The wiring layer (lambda/core/deps.ts): builds every layer's parts once per cold start.
  'deps.ts': ['.', 'aws', 'storage', 'fsck', 'http', 'auth', 'upload', 'read'],
};
const OUTSIDE_LAMBDA = ['local/', 'scripts/', 'test/', 'bench/', 'infra/'];

const files = (dir) =>
  readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'));

/** Every relative import of a file: its target path and whether it is type-only. */
function importsOf(file) {
  const text = readFileSync(join(root, file), 'utf8');
  const found = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
    const spec = m[3] ?? m[4];
    found.push({ target: posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts'), typeOnly: !!m[2] });
  }
  return found;
}

const folderOf = (path) => {
  const rest = path.slice(CORE.length + 1);
  if (rest === 'deps.ts') return 'deps.ts';
  return rest.includes('/') ? rest.split('/')[0] : '.';
};

const problems = [];
for (const file of files('lambda')) {
  for (const { target, typeOnly } of importsOf(file)) {
    if (OUTSIDE_LAMBDA.some((p) => target.startsWith(p))) problems.push(`${file}: imports ${target} (lambda/ code never imports ${target.split('/')[0]}/)`);
    if (!file.startsWith(CORE + '/')) continue;
    if (!target.startsWith(CORE + '/')) {
      problems.push(`${file}: imports ${target}, above the core (the core never imports the route table or handlers)`);
      continue;
    }
    if (target === `${CORE}/deps.ts` && typeOnly) continue;
    const from = folderOf(file);
    const to = folderOf(target);
    const allowed = MAY_IMPORT[from];
    if (!allowed) problems.push(`${file}: lambda/core/${from}/ is not in scripts/check-layers.mjs's MAY_IMPORT`);
    else if (from !== to && !allowed.includes(to))
      problems.push(
        `${file}: imports ${target}, but ${from === '.' ? 'the core root' : from === 'deps.ts' ? 'deps.ts' : `${from}/`} may import only ${allowed.join(', ')}`,
      );
  }
}
if (problems.length) {
  console.error(`check-layers: ${problems.length} import(s) break lambda/core/README.md's rules:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-layers: the imports of ${files('lambda').length} files under lambda/ follow lambda/core/README.md's rules`);
