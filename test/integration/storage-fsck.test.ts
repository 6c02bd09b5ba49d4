import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { childEnv, listening, npmStart, stop, type NpmStart } from '../support/npm-start.js';
import { buildFsckScenario } from '../support/fsck-scenario.js';
import { postFormRedirected } from '../support/upload-form.js';
import { newBlob, preupload, store as storeBlobs } from './seed.suite.js';
import { openBackendStorage, type BackendStorage } from '../support/storage.js';
import { LANES } from '../support/test-server.js';

/** `npm run fsck` as a user runs it (a child process, configured from the environment) against every lane. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function runFsck(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((ok) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/fsck.ts'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    proc.once('exit', (code) => ok({ code, out }));
  });
}

for (const lane of LANES) {
  describe(`npm run fsck [${lane.name}]`, { skip: lane.unavailable() }, () => {
    let opened: BackendStorage | undefined;
    after(async () => {
      await opened?.close();
    });

    it('reports damage (exit 1), repairs it with --repair, and then finds the store clean (exit 0)', async () => {
      opened = await openBackendStorage(lane.factory, 'blobserver-fsck-');
      const { index, store } = opened;
      const e = opened.backend.env;
      const s = await buildFsckScenario(index, store);

      const report = await runFsck(e, '--verify');
      assert.equal(report.code, 1, report.out);
      for (const [ref, kind] of s.damaged) assert.match(report.out, new RegExp(`${kind} ${ref}`));
      assert.match(report.out, /unreferenced-object: 1 \(700 bytes\)/);
      assert.match(report.out, /dead-pack-bytes: 1 \(6000 bytes\)/);
      assert.match(report.out, /DAMAGE: 4 rows/);

      // Objects written a moment ago are inside the default grace period: nothing reclaimed.
      const young = await runFsck(e, '--repair');
      assert.match(young.out, /repaired: 3 damaged rows deleted, 0 objects deleted/);

      await new Promise((r) => setTimeout(r, 1100)); // S3 times are whole seconds
      const repair = await runFsck(e, '--verify', '--repair', '--grace-seconds', '0');
      assert.equal(repair.code, 1, repair.out);
      assert.match(repair.out, /1 packs repacked/);
      assert.equal(await store.size(s.orphanKey), undefined);
      assert.equal(await store.size(s.packKey), undefined);
      for (const b of s.healthy) assert.deepEqual((await s.storage.readBlob(b.ref))?.bytes, b.bytes, b.ref);

      await new Promise((r) => setTimeout(r, 1100));
      await runFsck(e, '--repair', '--grace-seconds', '0');
      const clean = await runFsck(e, '--verify');
      assert.equal(clean.code, 0, clean.out);
      assert.match(clean.out, /no damage/);
      assert.doesNotMatch(clean.out, /unreferenced|dead-pack/);
      assert.equal((await runFsck(e, '--bogus')).code, 2);
    });
  });
}

describe('npm run fsck with no endpoint: the local server\'s data directory', () => {
  let dir: string | undefined;
  let server: NpmStart | undefined;
  after(async () => {
    if (server) await stop(server);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('refuses while the server holds it, then audits it (embedded emulators) and collects stale staged uploads; the server starts again after', async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-fsck-local-'));
    const env = childEnv(dir, { BLOBSERVER_UPLOAD_URL_TTL_SECONDS: '3', BLOBSERVER_COMPLETION_GRACE_SECONDS: '1' });
    const missing = await runFsck({ BLOBSERVER_DATA_DIR: join(dir, 'nothing-here') });
    assert.equal(missing.code, 2, missing.out);
    assert.match(missing.out, /no local store in .*nothing-here/);

    server = npmStart(env);
    const target = { url: await listening(server) };
    const kept = [newBlob(100), newBlob(200), newBlob(2_000_000)];
    await storeBlobs(target, ...kept);
    const abandoned = newBlob(3000);
    await postFormRedirected((await preupload(target)).uploadForm, abandoned.data, abandoned.ref); // never completed

    const held = await runFsck(env);
    assert.equal(held.code, 2, held.out);
    assert.match(held.out, new RegExp(`the local server \\(pid ${server.pid}\\) is running on ${escaped(dir)} and holds it`));
    assert.doesNotMatch(held.out, /Could not load credentials/);
    await stop(server);
    server = undefined;

    await new Promise((r) => setTimeout(r, 4100)); // past the URL lifetime plus the completion grace
    const audit = await runFsck(env, '--verify', '--repair', '--grace-seconds', '0');
    assert.equal(audit.code, 0, audit.out);
    assert.match(audit.out, new RegExp(`fsck local store ${escaped(dir)}: 3 rows, 2 objects`));
    assert.match(audit.out, /stale-staged-upload: 1 \(3000 bytes\)/);
    assert.match(audit.out, /1 objects deleted \(3000 bytes reclaimed\)/);
    assert.match(audit.out, /no damage/);

    // fsck released the directory: the server starts on it again and serves every blob.
    server = npmStart(env);
    const url = await listening(server);
    for (const b of kept) {
      const res: Response = await fetch(`${url}/camli/${b.ref}`);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), b.data);
    }
  });
});
