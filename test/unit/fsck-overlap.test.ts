import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditPartition, fsck, newFsckRun, rowPartitions } from '../../lambda/core/fsck/fsck.js';
import { shardOf } from '../../lambda/core/storage/index-schema.js';
import { repackablePack } from '../support/repack-race.js';

/**
 * Two overlapping audits: run X lists its rows, run Y repacks the pack they point into (re-points
 * them, deletes the old pack), then X judges the rows it listed. The blobs still serve their
 * bytes, so X must report no damage and delete no row, with or without --repair and --verify.
 */
describe('overlapping fsck runs', () => {
  for (const options of [{}, { verify: true }, { repair: true }, { repair: true, verify: true }]) {
    it(`run X (${JSON.stringify(options)}) reports no damage for rows run Y re-pointed after X listed them`, async () => {
      const t = await repackablePack();
      const refs = [t.pair[0].ref, t.pair[1].ref, t.small.ref];
      let yRan = false;
      t.racing.afterNextList(
        async () => {
          await t.repack();
          yRan = true;
        },
        (rows) => rows.some((r) => r.blobRef === t.small.ref),
      );
      const x = await fsck(t.racing, t.store, options);
      assert.ok(yRan, 'run Y never ran inside run X');
      assert.equal(x.damaged, 0, JSON.stringify(x.findings));
      assert.deepEqual(
        x.findings.filter((f) => f.ref),
        [],
      );
      assert.equal(x.repaired.rowsDeleted, 0);
      for (const b of [...t.pair, t.small]) assert.deepEqual((await t.storage.readBlob(b.ref))?.bytes, b.bytes);
      // And a run after both finds the store clean of damage.
      const after = await fsck(t.index, t.store, { verify: true });
      assert.equal(after.damaged, 0);
      assert.equal((await t.index.get(refs)).size, 3);
    });
  }

  it('the collector: a row piece listed before another run repacked, its pack piece after, no damage', async () => {
    const t = await repackablePack();
    const run = newFsckRun();
    const shard = shardOf(t.small.ref);
    const report = { damaged: 0, rowsDeleted: 0 };
    // Every row piece of run X first (the pack's rows go to its scratch), then run Y, then X's pack day.
    for (const prefix of rowPartitions(1)) await auditPartition(t.index, t.store, run, { kind: 'rows', prefix }, { repair: true });
    await t.repack();
    const day = t.packKey.split('/')[1]!;
    const packs = await auditPartition(t.index, t.store, run, { kind: 'packs', day }, { repair: true });
    report.damaged += packs.damaged;
    report.rowsDeleted += packs.repaired.rowsDeleted;
    assert.deepEqual(report, { damaged: 0, rowsDeleted: 0 }, `${shard}: ${JSON.stringify(packs.findings)}`);
    for (const b of [...t.pair, t.small]) assert.deepEqual((await t.storage.readBlob(b.ref))?.bytes, b.bytes);
  });

  it('real damage is still damage: a row whose object is gone and stays gone', async () => {
    const t = await repackablePack();
    await t.store.delete(t.packKey);
    const x = await fsck(t.index, t.store, {});
    assert.equal(x.damaged, 3);
    assert.deepEqual(new Set(x.findings.filter((f) => f.ref).map((f) => f.kind)), new Set(['missing-object']));
  });
});

describe('scratch of fsck runs that died', () => {
  it('is reported and, with --repair, collected once older than a day; a live run’s scratch is left alone', async () => {
    const t = await repackablePack();
    const day = 24 * 3600_000;
    const put = async (key: string, ageMs: number) => {
      await t.store.create(key, Buffer.from('[]'));
      t.store.objects.get(key)!.lastModified = new Date(Date.now() - ageMs);
    };
    // Killed two days ago mid-run; another run that started an hour ago and is still going.
    const dead = [
      'fsck-runs/20261201000000-aaaaaaaaaaaa/pack-rows/2026-12-01/sha224-a-1-0.json',
      'fsck-runs/20261201000000-aaaaaaaaaaaa/pack-rows/2026-12-01/sha224-b-1-0.json',
    ];
    const live = 'fsck-runs/20261203000000-bbbbbbbbbbbb/pack-rows/2026-12-03/sha224-a-1-0.json';
    for (const key of dead) await put(key, 2 * day);
    await put(live, 3600_000);

    const report = await fsck(t.index, t.store, {});
    assert.deepEqual(
      report.findings
        .filter((f) => f.kind === 'stale-fsck-scratch')
        .map((f) => f.key)
        .sort(),
      dead,
    );
    assert.equal(report.damaged, 0);
    for (const key of [...dead, live]) assert.ok(t.store.objects.has(key), `a report deleted ${key}`);

    const repaired = await fsck(t.index, t.store, { repair: true });
    assert.equal(repaired.findings.filter((f) => f.kind === 'stale-fsck-scratch').length, 2);
    for (const key of dead) assert.ok(!t.store.objects.has(key), `${key} was not collected`);
    assert.ok(t.store.objects.has(live), 'the live run’s scratch was collected');

    // The collector's last piece does the same.
    await put(dead[0]!, 2 * day);
    const run = newFsckRun();
    await auditPartition(t.index, t.store, run, { kind: 'staging' }, { repair: true });
    assert.ok(!t.store.objects.has(dead[0]!));
    assert.ok(t.store.objects.has(live));
  });
});
