import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { runFsck } from '../support/run-script.js';
import { buildFsckScenario } from '../support/fsck-scenario.js';
import { keepsVersions, openBackendStorage, type BackendStorage } from '../support/storage.js';
import { LANES } from '../support/test-server.js';

/** `npm run fsck` as a user runs it (a child process, configured from the environment) against every lane. */
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

      // Objects written a moment ago are inside the default grace period: nothing reclaimed. Where
      // the bucket keeps versions (LocalStack), the deleted object is restored and keeps its row.
      const young = await runFsck(e, '--repair');
      const versioned = await keepsVersions(store);
      assert.equal(versioned, lane.name.includes('localstack'), 'LocalStack keeps versions, s3rver none');
      assert.match(
        young.out,
        versioned
          ? /repaired: 2 damaged rows deleted, 0 objects deleted.*1 objects restored/
          : /repaired: 3 damaged rows deleted, 0 objects deleted.*0 objects restored/,
      );
      const lost = [...s.damaged].find(([, kind]) => kind === 'missing-object')![0];
      assert.equal((await s.storage.readBlob(lost)) !== undefined, versioned);

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
