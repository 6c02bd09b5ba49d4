import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installPackedClient, PACKAGE_NAME, ROOT, type InstalledPackage } from '../support/client-package.js';

/**
 * The client installed from its tarball, as a user would (issue 16): the bin runs on plain Node,
 * the package imports without a loader, and its .d.ts type-check under the strict flags users
 * turn on, with and without Node's types. Needs client/dist (`npm test` builds it).
 */

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const STRICT = [
  '--noEmit',
  '--strict',
  '--exactOptionalPropertyTypes',
  '--noUncheckedIndexedAccess',
  '--target',
  'es2022',
  '--module',
  'nodenext',
  '--moduleResolution',
  'nodenext',
  '--skipLibCheck',
  'false',
];

describe('the client package, packed and installed', () => {
  let work: string;
  let pkg: InstalledPackage;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'client-package-'));
    pkg = installPackedClient(work);
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('holds the compiled client, its licence, its README and nothing of the server', async () => {
    const listed = execFileSync('tar', ['-tzf', pkg.tarball], { encoding: 'utf8' }).trim().split('\n');
    for (const f of [
      'package/LICENSE',
      'package/README.md',
      'package/bin/blobserver.js',
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/index.js.map',
      'package/dist/node/index.js',
    ])
      assert.ok(listed.includes(f), f);
    assert.deepEqual(
      listed.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
      [],
      'no TypeScript sources',
    );
    assert.deepEqual(
      listed.filter((f) => /test|lambda|infra/.test(f)),
      [],
    );
    assert.deepEqual((await readdir(join(pkg.dir, 'node_modules'))).filter((d) => !d.startsWith('.')).sort(), [
      '@camli-serverless',
      '@noble',
      '@scure',
      'age-encryption',
    ]);
  });

  it('blobserver --help and --version run on plain Node', () => {
    const help = spawnSync(pkg.bin, ['--help'], { cwd: pkg.dir, encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: blobserver/);
    const version = spawnSync(pkg.bin, ['--version'], { cwd: pkg.dir, encoding: 'utf8' });
    assert.match(version.stdout, /^blobserver \d+\.\d+\.\d+\n$/);
  });

  it('imports in plain node, the main entry and ./node', () => {
    const script = `const m = await import('${PACKAGE_NAME}'); const n = await import('${PACKAGE_NAME}/node');
      const c = new m.BlobServerClient({ server: 'http://127.0.0.1:1' });
      console.log(typeof c.get, m.blobRefOf('hello'), typeof n.restoreSchema, typeof n.putPath);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg.dir, encoding: 'utf8' });
    assert.equal(out, 'function sha224-ea09ae9cc6768c50fcee903ed054556e5bfc8347907f12598aa24193 function function\n');
  });

  it('type-checks a consumer under exactOptionalPropertyTypes + noUncheckedIndexedAccess', async () => {
    const consumer = join(pkg.dir, 'consumer.ts');
    await writeFile(
      consumer,
      `import { BlobServerClient, BlobServerError, Uploader, blobRefOf, type SizedRef } from '${PACKAGE_NAME}';
import { putPath, resolveServer, restoreSchema } from '${PACKAGE_NAME}/node';
const settings = resolveServer({ server: process.env.BLOBSERVER_URL });
const client = new BlobServerClient({ server: settings.server, connectTimeoutMs: 5000, signal: AbortSignal.timeout(60_000) });
const bytes = new TextEncoder().encode('hi');
const uploader = new Uploader(client, { concurrency: 2 });
await uploader.add({ ref: blobRefOf(bytes), bytes });
const stats: { uploadedBytes: number } = await uploader.flush();
const got: Uint8Array | undefined = await client.get(blobRefOf(bytes), { maxSize: 10 });
const first: SizedRef | undefined = (await client.stat([blobRefOf(bytes)]))[0];
try { await putPath('.', uploader); } catch (e) { if (e instanceof BlobServerError) console.log(e.operation, e.status ?? 0); }
void restoreSchema; void stats; void got; void first;
`,
    );
    const r = spawnSync(process.execPath, [TSC, ...STRICT, '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), consumer], {
      cwd: pkg.dir,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('the main entry type-checks for a browser project, without Node types', async () => {
    const consumer = join(pkg.dir, 'browser.ts');
    await writeFile(
      consumer,
      `import { BlobServerClient, blobRefOf, parseSchema } from '${PACKAGE_NAME}';
const client = new BlobServerClient({ server: location.origin, auth: 'none' });
const bytes = await client.get(blobRefOf('x'));
if (bytes) document.title = parseSchema(bytes)?.camliType ?? 'raw';
`,
    );
    const r = spawnSync(process.execPath, [TSC, ...STRICT, '--lib', 'es2022,dom', '--types', '', consumer], { cwd: pkg.dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
