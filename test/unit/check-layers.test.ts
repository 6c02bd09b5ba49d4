import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * scripts/check-layers.mjs (run by `npm run lint`) on a copy of lambda/ with one import added:
 * deps.ts is the wiring layer, so a module below it that imports it (a value, not the erased
 * `Deps` type) breaks the rules.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/check-layers.mjs');

interface Outcome {
  code: number;
  output: string;
}

async function check(root: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SCRIPT, root]);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('the layer check', () => {
  let copy: string;
  before(async () => {
    copy = await mkdtemp(join(tmpdir(), 'check-layers-'));
  });
  after(async () => {
    await rm(copy, { recursive: true, force: true });
  });
  const withLine = async (file: string, line: string): Promise<Outcome> => {
    await rm(join(copy, 'lambda'), { recursive: true, force: true });
    await cp(join(ROOT, 'lambda'), join(copy, 'lambda'), { recursive: true });
    await appendFile(join(copy, 'lambda', file), `\n${line}\n`);
    return check(copy);
  };

  it('passes the tree as it is', async () => {
    const out = await withLine('core/limits.ts', '// nothing added');
    assert.equal(out.code, 0, out.output);
  });

  for (const file of ['core/storage/object-keys.ts', 'core/config.ts', 'core/upload/staging.ts', 'core/fsck/collector.ts']) {
    it(`fails when ${file} imports createDeps from deps.ts (the wiring layer)`, async () => {
      const from = file.split('/').length === 2 ? './deps.js' : '../deps.js';
      const out = await withLine(file, `export { createDeps } from '${from}';`);
      assert.equal(out.code, 1, out.output);
      assert.match(out.output, new RegExp(`lambda/${file}: imports lambda/core/deps\\.ts`));
    });
  }

  it('lets a module take the Deps type (erased from the bundle), and routing/ call createDeps', async () => {
    assert.equal((await withLine('core/storage/object-keys.ts', "import type { Deps } from '../deps.js';")).code, 0);
    assert.equal((await withLine('core/routing/router.ts', "export { createDeps } from '../deps.js';")).code, 0);
  });

  it('fails when deps.ts imports the route table above the core', async () => {
    const out = await withLine('core/deps.ts', "export { ROUTES } from '../routes.js';");
    assert.equal(out.code, 1, out.output);
  });
});
