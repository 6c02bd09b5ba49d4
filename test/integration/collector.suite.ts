import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { collect, COLLECTOR_PARTITION_DEPTH, type CollectorDeps, type CollectorSummary } from '../../lambda/core/fsck/collector.js';
import { rowPartitions, type FsckRun } from '../../lambda/core/fsck/fsck.js';
import { s3Folders } from '../../lambda/core/storage/s3-folders.js';
import { buildFsckScenario } from '../support/fsck-scenario.js';
import { awsClientsFor, keepsVersions, openBackendStorage, type BackendStorage } from '../support/storage.js';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { S3BlobStore } from '../../lambda/core/storage/s3-store.js';
import type { Lane } from '../support/test-server.js';
import { FSCK_RUNS_PREFIX } from '../../lambda/core/storage/object-keys.js';
import { namedNamespace, ROOT_NAMESPACE } from '../../lambda/core/namespace.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { namespacesIn, namespaceStorage } from '../../lambda/core/storage/namespaces.js';
import { createLogger } from '../../lambda/core/telemetry.js';

/**
 * The scheduled collector as a function, driven piece by piece as its state machine drives it
 * (plan, a rows piece per partition, days, a packs piece per day, finish), on every lane.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const blob = (size: number) => {
  const bytes = randomBytes(size);
  return { ref: blobRefOf(bytes), bytes };
};

interface Hooks {
  /** Between the rows pieces and the packs pieces (rows already listed, packs not yet). */
  betweenPhases?: () => Promise<void>;
}

/** One whole collection, as the state machine runs it; the summaries of every piece summed. */
async function runCollection(deps: CollectorDeps, hooks: Hooks = {}): Promise<{ total: CollectorSummary; partitions: string[]; days: string[] }> {
  const plan = (await collect(deps, { action: 'plan' })) as { run: FsckRun; partitions: string[] };
  const total: CollectorSummary = {
    rows: 0,
    objects: 0,
    damaged: 0,
    garbage: 0,
    rowsDeleted: 0,
    objectsDeleted: 0,
    bytesReclaimed: 0,
    packsRepacked: 0,
    objectsRestored: 0,
  };
  const add = (s: CollectorSummary) => {
    for (const k of Object.keys(total) as (keyof CollectorSummary)[]) total[k] += s[k];
  };
  // The Map state runs pieces concurrently (maxConcurrency 8 in the stack); 8 here too.
  const queue = [...plan.partitions];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift())
        add((await collect(deps, { action: 'rows', run: plan.run, prefix: p })) as CollectorSummary);
    }),
  );
  await hooks.betweenPhases?.();
  const { days } = (await collect(deps, { action: 'days', run: plan.run })) as { days: string[] };
  for (const day of days) add((await collect(deps, { action: 'packs', run: plan.run, day })) as CollectorSummary);
  add((await collect(deps, { action: 'finish', run: plan.run })) as CollectorSummary);
  return { total, partitions: plan.partitions, days };
}

/**
 * The suite on one lane (one file per lane: a whole run on DynamoDB Local takes about a minute).
 * `collectorSessionToken`: the collector's calls carry it (the permission lane's collector role);
 * the scenario, the racing remove and upload and the checks are the harness's.
 */
export function defineCollectorSuite(lane: Lane, options: { collectorSessionToken?: string } = {}): void {
  describe(`scheduled collector [${lane.name}]`, { skip: lane.unavailable() }, () => {
    let opened: BackendStorage | undefined;
    let asCollector: ReturnType<typeof awsClientsFor> | undefined;
    after(async () => {
      asCollector?.s3.destroy();
      asCollector?.ddb.destroy();
      await opened?.close();
    });

    it('its partitions, its grace, and a remove and an upload racing it', async () => {
      opened = await openBackendStorage(lane.factory, 'blobserver-collector-');
      const { index: harnessIndex, store } = opened;
      const s = await buildFsckScenario(harnessIndex, store);
      // The collector's own clients, as lambda/collect.ts builds them.
      asCollector = awsClientsFor({ ...opened.backend.env, ...(options.collectorSessionToken ? { AWS_SESSION_TOKEN: options.collectorSessionToken } : {}) });
      const index = new DynamoBlobIndex(asCollector.ddb, opened.config.tableName);
      const collectorStore = new S3BlobStore(asCollector.s3, opened.config.bucketName);
      await store.create('staging/0123456789abcdef0123456789abcdef/' + s.survivor.ref, Buffer.alloc(123)); // an abandoned form upload
      // The runs use the 32 shards: the cloud's 512 partitions are the same code on finer prefixes
      // (test/unit/fsck-partitions.test.ts runs all 512), and 16 times the requests on emulators.
      const deps = (graceMs: number, depth: 0 | 1 = 0): CollectorDeps => ({
        index,
        store: collectorStore,
        options: { repair: true, graceMs, stagingGraceMs: graceMs },
        folders: (prefix) => s3Folders(collectorStore.s3, collectorStore.bucketName, prefix),
        depth,
      });

      // With the default grace (1 h) nothing young is reclaimed; damage is found and its rows deleted.
      const cloudPlan = (await collect(deps(3600_000, COLLECTOR_PARTITION_DEPTH), { action: 'plan' })) as { partitions: string[] };
      assert.deepEqual(cloudPlan.partitions, rowPartitions(1));
      assert.equal(cloudPlan.partitions.length, 512);
      const first = await runCollection(deps(3600_000));
      assert.deepEqual(first.partitions, rowPartitions(0));
      assert.equal(first.total.rows, s.healthy.length + s.damaged.size);
      assert.deepEqual(first.days, [new Date().toISOString().slice(0, 10)]);
      assert.equal(first.total.damaged, 3, JSON.stringify(first.total)); // the digest check is fsck --verify's, not the collector's
      // Where the bucket keeps versions (LocalStack), the deleted object is restored, its row kept.
      const restored = (await keepsVersions(store)) ? 1 : 0;
      assert.equal(first.total.objectsRestored, restored);
      assert.equal(first.total.rowsDeleted, 3 - restored);
      assert.equal(first.total.objectsDeleted, 0);
      assert.equal(await store.size(s.orphanKey), 700);
      for (const b of s.healthy) assert.deepEqual((await s.storage.readBlob(b.ref))?.bytes, b.bytes, b.ref);

      // Past a 2 s grace: garbage goes, while a remove of the pack's survivor and an upload land mid-run.
      await sleep(3100);
      const racing = [blob(300), blob(400)];
      const second = await runCollection(deps(2000), {
        betweenPhases: async () => {
          assert.deepEqual((await s.storage.removeBlobs([s.survivor.ref])).errors, []);
          assert.deepEqual((await s.storage.storeVerifiedBlobs(racing)).errors, []);
        },
      });
      assert.equal(second.total.damaged, 0, JSON.stringify(second.total));
      assert.ok(second.total.objectsDeleted >= 3, JSON.stringify(second.total)); // the orphan, the staged upload, the dead pack, the damaged rows' objects
      assert.equal(await store.size(s.orphanKey), undefined);
      assert.equal(await store.size(s.packKey), undefined, 'the mostly dead pack is still there');
      assert.equal((await harnessIndex.get([s.survivor.ref])).size, 0, 'the removed blob came back');
      for (const b of [...s.healthy.filter((h) => h.ref !== s.survivor.ref), ...racing]) {
        assert.deepEqual((await s.storage.readBlob(b.ref))?.bytes, b.bytes, `${b.ref} does not serve`);
      }
      const leftovers = [];
      for await (const o of store.list(FSCK_RUNS_PREFIX)) leftovers.push(o.key);
      assert.deepEqual(leftovers, [], 'scratch objects left behind');
      for await (const o of store.list('staging/')) assert.fail(`staged upload ${o.key} not collected`);

      // Then the store is clean.
      await sleep(2100);
      await runCollection(deps(2000));
      const clean = await runCollection(deps(2000));
      assert.equal(clean.total.damaged, 0);
      assert.equal(clean.total.garbage, 0, JSON.stringify(clean.total));
    });

    it("a run covers every namespace, each piece one namespace's rows and objects (DESIGN §12)", async () => {
      const opened2 = await openBackendStorage(lane.factory, 'blobserver-collector-ns-');
      const { config, s3, ddb } = awsClientsFor(opened2.backend.env);
      try {
        const clients = { ddb, s3, table: config.tableName, bucket: config.bucketName };
        const photos = namespaceStorage(clients, opened2.store, namedNamespace('photos'));
        const s = await buildFsckScenario(photos.index, photos.store);
        const root = namespaceStorage(clients, opened2.store, ROOT_NAMESPACE);
        const rootStorage = new BlobStorage(root.index, root.store, { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) });
        const same = s.healthy[0]!;
        assert.deepEqual((await rootStorage.storeVerifiedBlobs([same])).errors, [], 'the same bytes in the root');
        const deps = (graceMs: number): CollectorDeps => ({
          ...root,
          options: { repair: true, graceMs, stagingGraceMs: graceMs },
          depth: 0,
          namespaces: { list: () => namespacesIn(s3, config.bucketName), storage: (ns) => namespaceStorage(clients, opened2.store, ns) },
        });
        await sleep(3100);
        const run = await runCollection(deps(2000));
        assert.deepEqual(run.partitions, [...rowPartitions(0), ...rowPartitions(0).map((p) => `photos/${p}`)]);
        const today = new Date().toISOString().slice(0, 10);
        assert.deepEqual(run.days, [`photos/${today}`], 'the root stored one blob alone: it has no pack');
        assert.equal(run.total.damaged, 3, JSON.stringify(run.total));
        assert.equal(await photos.store.size(s.orphanKey), undefined, "the namespace's garbage is reclaimed");
        assert.deepEqual((await rootStorage.readBlob(same.ref))?.bytes, same.bytes, 'the root is untouched');
        for await (const o of photos.store.list(FSCK_RUNS_PREFIX)) assert.fail(`scratch ${o.key} left behind`);
      } finally {
        s3.destroy();
        ddb.destroy();
        await opened2.close();
      }
    });
  });
}
