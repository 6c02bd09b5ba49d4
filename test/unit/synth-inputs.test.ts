import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { BUNDLING, ENTRIES, PROJECT_ROOT } from '../../infra/bundling.js';
import { synthInputs } from '../support/synth-inputs.js';

/**
 * The lanes key their cached synthesis by synthInputs(): every source esbuild puts into a
 * function's bundle, or into the page the read bundle carries (ui/, the client library), must be
 * among them, or a change there would reuse a stale bundle.
 */
async function bundledSources(entry: string, platform: 'node' | 'browser'): Promise<string[]> {
  const out = await build({
    entryPoints: [join(PROJECT_ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform,
    format: 'esm',
    target: BUNDLING.target,
    mainFields: BUNDLING.mainFields,
    external: platform === 'browser' ? ['node:crypto'] : [],
    logLevel: 'silent',
  });
  return Object.keys(out.metafile.inputs)
    .map((p) => relative(PROJECT_ROOT, join(process.cwd(), p)).split('\\').join('/'))
    .filter((p) => !p.startsWith('node_modules/'));
}

describe('the synthesis inputs the lanes key their caches by', () => {
  const inputs = new Set(synthInputs());

  it('name the client library and the page (read bundle), the stack and the lock file', () => {
    for (const f of [
      'client/hash.ts',
      'ui/app.ts',
      'ui/worker.ts',
      'ui/index.html',
      'ui/build.ts',
      'infra/app.ts',
      'infra/collection.ts',
      'package-lock.json',
      'cdk.json',
    ]) {
      assert.ok(inputs.has(f), `${f} is not an input`);
    }
  });

  for (const [name, entry] of Object.entries(ENTRIES)) {
    it(`hold every source of the ${name} bundle`, async () => {
      const missing = (await bundledSources(entry, 'node')).filter((f) => !inputs.has(f));
      assert.deepEqual(missing, []);
    });
  }

  for (const entry of ['ui/app.ts', 'ui/worker.ts']) {
    it(`hold every source of the page's ${entry} (built into the read bundle)`, async () => {
      const sources = await bundledSources(entry, 'browser');
      assert.ok(sources.includes(entry), `${entry}: ${sources}`);
      assert.deepEqual(
        sources.filter((f) => !inputs.has(f)),
        [],
      );
    });
  }
});
