import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { namedNamespace, ROOT_NAMESPACE, type Namespace } from '../../lambda/core/namespace.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { namespaceStorage } from '../../lambda/core/storage/namespaces.js';
import { createLogger } from '../../lambda/core/telemetry.js';
import { runFsck } from '../support/run-script.js';
import { buildFsckScenario } from '../support/fsck-scenario.js';
import { awsClientsFor, keepsVersions, openBackendStorage, type BackendStorage } from '../support/storage.js';
import type { Lane } from '../support/test-server.js';

/**
 * `npm run fsck` per namespace (DESIGN §12) on every lane: damage and garbage in one namespace
 * are found and repaired there, named as that namespace's, while the root and another namespace
 * holding the same bytes stay clean and intact.
 */
export function defineNamespaceFsckSuite(lane: Lane): void {
  // One step per `npm run fsck` (a child process each, which a loaded machine starts slowly), so
  // each has the whole per-test time limit and a failure names its step; they run in order on
  // one store.
  describe(`npm run fsck per namespace [${lane.name}]`, { skip: lane.unavailable() }, () => {
    let opened: BackendStorage | undefined;
    let env: Record<string, string>;
    let photos: ReturnType<typeof namespaceStorage>;
    let s: Awaited<ReturnType<typeof buildFsckScenario>>;
    let elsewhere: BlobStorage[];
    const same = (() => {
      const data = randomBytes(2000);
      return { ref: `sha224-${createHash('sha224').update(data).digest('hex')}`, bytes: data };
    })();
    let clients: ReturnType<typeof awsClientsFor>;

    before(async () => {
      opened = await openBackendStorage(lane.factory, 'blobserver-nsfsck-');
      env = opened.backend.env;
      clients = awsClientsFor(opened.backend.env);
      const { config, s3, ddb } = clients;
      const parts = (ns: Namespace) => namespaceStorage({ ddb, s3, table: config.tableName, bucket: config.bucketName }, opened!.store, ns);
      photos = parts(namedNamespace('photos'));
      s = await buildFsckScenario(photos.index, photos.store);
      // The same bytes, healthy, in the root and in another namespace.
      elsewhere = [parts(ROOT_NAMESPACE), parts(namedNamespace('other'))].map(
        (p) => new BlobStorage(p.index, p.store, { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) }),
      );
      for (const storage of elsewhere) assert.deepEqual((await storage.storeVerifiedBlobs([same])).errors, []);
    });
    after(async () => {
      clients?.s3.destroy();
      clients?.ddb.destroy();
      await opened?.close();
    });

    it("audits the root and every namespace: the damage is named as the namespace's, the others are clean", async () => {
      const all = await runFsck(env, '--verify');
      assert.equal(all.code, 1, all.out);
      assert.match(all.out, /DAMAGE \(namespace photos\): 4 rows/);
      assert.match(all.out, /no damage \(namespace other\)/);
      assert.match(all.out, /^no damage$/m, 'the root line, as it always was');
      for (const [ref, kind] of s.damaged) assert.match(all.out, new RegExp(`${kind} ${ref}`));
    });

    it('audits only the namespace asked for', async () => {
      const one = await runFsck(env, '--namespace', 'photos');
      assert.equal(one.code, 1, one.out);
      assert.doesNotMatch(one.out, /namespace other|^no damage$/m, 'only the namespace asked for');
    });

    it('repairs only the namespace it audits; the others are untouched, and then every namespace is clean', async () => {
      await new Promise((r) => setTimeout(r, 1100)); // S3 times are whole seconds
      const repair = await runFsck(env, '--namespace', 'photos', '--verify', '--repair', '--grace-seconds', '0');
      assert.equal(repair.code, 1, repair.out);
      // Where the bucket keeps versions (LocalStack), the lost object is restored and keeps its row.
      assert.match(
        repair.out,
        (await keepsVersions(opened!.store))
          ? /repaired: 3 damaged rows deleted, \d+ objects deleted \(\d+ bytes reclaimed\), 1 packs repacked, 1 objects restored/
          : /repaired: 4 damaged rows deleted, \d+ objects deleted \(\d+ bytes reclaimed\), 1 packs repacked/,
      );
      assert.equal(await photos.store.size(s.orphanKey), undefined, "the namespace's garbage is reclaimed");
      for (const b of s.healthy)
        assert.deepEqual((await new BlobStorage(photos.index, photos.store, { log: createLogger({}) }).readBlob(b.ref))?.bytes, b.bytes);
      for (const storage of elsewhere) assert.deepEqual((await storage.readBlob(same.ref))?.bytes, same.bytes, 'the others are untouched');
      const clean = await runFsck(env, '--verify');
      assert.equal(clean.code, 0, clean.out);
    });

    it('refuses a name that cannot be a namespace, and --namespace with --root (exit 2)', async () => {
      for (const bad of [
        ['--namespace', 'Bad'],
        ['--namespace', 'camli'],
        ['--namespace', 'a', '--root'],
      ]) {
        const r = await runFsck(env, ...bad);
        assert.equal(r.code, 2, `${bad.join(' ')}: ${r.out}`);
      }
    });
  });
}
