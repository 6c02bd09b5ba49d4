import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { childEnv, listening, npmStart, stop, type NpmStart } from '../support/npm-start.js';
import { postFormRedirected } from '../support/upload-form.js';
import { newBlob, preupload, store as storeBlobs } from './seed.suite.js';
import { runFsck } from '../support/run-script.js';

describe("npm run fsck with no endpoint: the local server's data directory", () => {
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
