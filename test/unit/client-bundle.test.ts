import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The library's main entry bundles for browsers as it is (docs/client.md, "Bundlers and
 * browsers"): its Node-only modules (node:crypto for hashing, node:http for uploads) are loaded
 * with an awaited import() in a try, which a browser bundle leaves unresolved instead of failing.
 */
describe('the client bundles for browsers', () => {
  it('esbuild --platform=browser bundles client/index.ts without marking anything external', async () => {
    const out = await build({
      entryPoints: [fileURLToPath(new URL('../../client/index.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    assert.equal(out.errors.length, 0);
    assert.ok(out.outputFiles[0]!.text.includes('BlobServerClient'));
  });
});
