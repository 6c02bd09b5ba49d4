import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClientFor } from '../../lambda/core/aws/aws-clients.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { CREATION_LOCK_WAIT_MS } from '../../lambda/core/limits.js';
import { namedNamespace, ROOT_NAMESPACE, type Namespace } from '../../lambda/core/namespace.js';
import { BlobStorage } from '../../lambda/core/storage/blob-storage.js';
import { CreationLockBusy } from '../../lambda/core/storage/creation-lock.js';
import { CREATION_LOCK_PARTITION, clearStaleCreationLocks, DynamoCreationLock } from '../../lambda/core/storage/dynamodb-creation-lock.js';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { DynamoUsageLedger, usageSortKey } from '../../lambda/core/storage/dynamodb-usage.js';
import { INDEX_SCHEMA } from '../../lambda/core/storage/index-schema.js';
import { createLogger } from '../../lambda/core/telemetry.js';
import { openBackendStorage, type BackendStorage } from '../support/storage.js';
import { startLocalServer } from '../../local/server.js';
import { blobHttp } from '../support/blob-http.js';
import { LANES, PASSWORD, USER } from '../support/test-server.js';

/**
 * The namespaces' row-creation lock (lambda/core/storage/creation-lock.ts) on each lane's
 * DynamoDB: one holder at a time across processes (two lock objects stand for two processes),
 * a dead holder's lock waited out and then taken, a local server's successor taking back only
 * its predecessor's locks, and an upload that cannot have the lock storing no row and keeping
 * no reservation, and a local server not waiting for the lock its killed predecessor held.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock item as a holder that died left it: held by `token` until `expiresAt`. */
async function leaveLock(ddb: DynamoDBClient, table: string, ns: Namespace, token: string, expiresAt: number): Promise<void> {
  await ddb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        [INDEX_SCHEMA.partitionKey]: { S: CREATION_LOCK_PARTITION },
        [INDEX_SCHEMA.sortKey]: { S: usageSortKey(ns) },
        holder: { S: token },
        expiresAt: { N: String(expiresAt) },
      },
    }),
  );
}

for (const lane of LANES) {
  describe(`row-creation lock [${lane.name}]`, { skip: lane.unavailable() }, () => {
    let storage: BackendStorage;
    let ddb: DynamoDBClient;
    let table: string;
    before(async () => {
      storage = await openBackendStorage(lane.factory, 'blobserver-creation-lock-');
      ddb = dynamoClientFor(storage.config);
      table = storage.config.tableName;
    });
    after(async () => {
      ddb?.destroy();
      await storage?.close();
    });

    it('one holder at a time across processes: the second runs only after the first let go', async () => {
      const ns = namedNamespace('lock-a');
      const [a, b] = [new DynamoCreationLock(ddb, table, ns, 'proc-a'), new DynamoCreationLock(ddb, table, ns, 'proc-b')];
      const events: string[] = [];
      let letGo!: () => void;
      const holding = new Promise<void>((r) => (letGo = r));
      let aHolds!: () => void;
      const aTook = new Promise<void>((r) => (aHolds = r));
      const first = a.whileCreating(async () => {
        events.push('a in');
        aHolds();
        await holding;
        events.push('a out');
      });
      await aTook;
      const second = b.whileCreating(async (sendBy) => {
        events.push('b in');
        assert.ok(sendBy > Date.now(), 'the holder is told when to stop sending');
      });
      await sleep(300);
      assert.deepEqual(events, ['a in'], 'b ran while a held the lock');
      letGo();
      await Promise.all([first, second]);
      assert.deepEqual(events, ['a in', 'a out', 'b in']);
    });

    it("a dead holder's lock: writers wait, give up with CreationLockBusy, and take it once it expires", async () => {
      const ns = namedNamespace('lock-b');
      await leaveLock(ddb, table, ns, 'dead:1', Date.now() + 1_500);
      const impatient = new DynamoCreationLock(ddb, table, ns, 'proc-c', 200);
      let ran = false;
      await assert.rejects(
        impatient.whileCreating(async () => {
          ran = true;
        }),
        CreationLockBusy,
      );
      assert.equal(ran, false, 'ran without the lock');
      const t0 = Date.now();
      await new DynamoCreationLock(ddb, table, ns, 'proc-d', 10_000).whileCreating(async () => {
        ran = true;
      });
      assert.ok(ran);
      assert.ok(Date.now() - t0 >= 1_000, 'took the lock before it expired');
    });

    it("writers queued in one process behind a dead holder's lock give up together, each within its wait", async () => {
      const ns = namedNamespace('lock-f');
      await leaveLock(ddb, table, ns, 'dead:3', Date.now() + 60_000);
      const lock = new DynamoCreationLock(ddb, table, ns, 'proc-f', 1_000);
      const t0 = Date.now();
      const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => lock.whileCreating(async () => undefined)));
      assert.ok(
        outcomes.every((o) => o.status === 'rejected' && o.reason instanceof CreationLockBusy),
        'a queued writer ran or failed otherwise',
      );
      // One wait after another would be 4 s and more; together, the 1 s wait plus the last attempts.
      assert.ok(Date.now() - t0 < 3_500, `the queue gave up after ${Date.now() - t0} ms`);
    });

    it("a successor takes back its predecessor's locks, and no one else's", async () => {
      const [mine, theirs] = [namedNamespace('lock-c'), namedNamespace('lock-d')];
      const later = Date.now() + 60_000;
      await leaveLock(ddb, table, mine, 'local:/data/one:1', later);
      await leaveLock(ddb, table, theirs, 'local:/data/one-more:1', later);
      assert.equal(await clearStaleCreationLocks(ddb, table, 'local:/data/one'), 1);
      await new DynamoCreationLock(ddb, table, mine, 'local:/data/one', 200).whileCreating(async () => undefined);
      await assert.rejects(
        new DynamoCreationLock(ddb, table, theirs, 'x', 200).whileCreating(async () => undefined),
        CreationLockBusy,
      );
    });

    it('an upload that cannot have the lock stores no row and keeps no reservation; once it is free, it stores', async () => {
      const ns = namedNamespace('lock-e');
      const usage = new DynamoUsageLedger(ddb, table, ns);
      const blobs = [randomBytes(100), randomBytes(200)].map((bytes) => ({ ref: blobRefOf(bytes), bytes }));
      await leaveLock(ddb, table, ns, 'dead:2', Date.now() + 60_000);
      const index = new DynamoBlobIndex(ddb, table, undefined, ns);
      const store = new BlobStorage(index, storage.store, {
        log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }),
        usage,
        creation: new DynamoCreationLock(ddb, table, ns, 'proc-e', 200),
      });
      const refused = await store.storeVerifiedBlobs(blobs);
      assert.deepEqual(refused.received, []);
      for (const b of blobs) assert.match(refused.errors.join('\n'), new RegExp(`${b.ref}: not stored .*retry later`));
      assert.equal((await index.get(blobs.map((b) => b.ref))).size, 0, 'a row was written without the lock');
      assert.deepEqual(await usage.read().then((u) => ({ bytes: u.bytes, blobs: u.blobs })), { bytes: 0, blobs: 0 }, 'the reservation was kept');
      await leaveLock(ddb, table, ns, 'dead:2', Date.now() - 1);
      const stored = await store.storeVerifiedBlobs(blobs);
      assert.deepEqual(stored.received.map((r) => r.blobRef).sort(), blobs.map((b) => b.ref).sort());
      assert.deepEqual(await usage.read().then((u) => ({ bytes: u.bytes, blobs: u.blobs })), { bytes: 300, blobs: 2 });
    });

    it("an upload after its preupload reads no row again; after another process's take it reads them, and counts each blob once", async () => {
      const ns = namedNamespace('lock-g');
      const usage = new DynamoUsageLedger(ddb, table, ns);
      /** One process's storage of the namespace, as the local server builds it, with its row reads counted. */
      const oneProcess = (holder: string) => {
        const index = new DynamoBlobIndex(ddb, table, undefined, ns);
        const reads: string[][] = [];
        const get = index.get.bind(index);
        index.get = (refs) => (reads.push([...refs]), get(refs));
        const store = new BlobStorage(index, storage.store, {
          log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }),
          usage,
          creation: new DynamoCreationLock(ddb, table, ns, holder),
          rememberAbsence: true,
        });
        return { store, reads };
      };
      const blob = (size: number) => {
        const bytes = randomBytes(size);
        return { ref: blobRefOf(bytes), bytes };
      };
      const [a, b] = [oneProcess('proc-g1'), oneProcess('proc-g2')];
      const [x, y, z] = [blob(100), blob(200), blob(300)];

      // One process: preupload (stat) finds x absent, and the upload reads no row again.
      assert.equal((await a.store.stat([x.ref])).size, 0);
      a.reads.length = 0;
      assert.deepEqual((await a.store.storeVerifiedBlobs([x])).received, [{ blobRef: x.ref, size: 100 }]);
      assert.equal(a.reads.length, 0, 'the upload read a row the preupload had read absent');

      // Another process stores y between a's preupload and a's upload: a reads y and z again under
      // the lock, finds y's row, and refunds its reservation for it.
      assert.equal((await a.store.stat([y.ref, z.ref])).size, 0);
      assert.deepEqual((await b.store.storeVerifiedBlobs([y])).received, [{ blobRef: y.ref, size: 200 }]);
      a.reads.length = 0;
      const both = await a.store.storeVerifiedBlobs([y, z]);
      assert.deepEqual(both.received.map((r) => r.blobRef).sort(), [y.ref, z.ref].sort());
      assert.deepEqual(
        a.reads.map((refs) => refs.sort()),
        [[y.ref, z.ref].sort()],
        'the rows were not read again under the lock',
      );
      assert.deepEqual(await usage.read().then((u) => ({ bytes: u.bytes, blobs: u.blobs })), { bytes: 600, blobs: 3 }, 'a blob was counted twice');
      const rows = await a.store.index.get([x.ref, y.ref, z.ref]);
      assert.equal(rows.size, 3);
    });
  });
}

describe('row-creation lock: a local server succeeds its killed predecessor', () => {
  it("a lock the last server on this data directory held does not make the next one's uploads wait", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blobserver-lock-restart-'));
    const env = {
      BLOBSERVER_DATA_DIR: dir,
      PORT: '0',
      BLOBSERVER_HOST: '127.0.0.1',
      BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`,
      POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    };
    try {
      let server = await startLocalServer(env);
      // As a server killed inside its row phase leaves it (the holder names the data directory).
      const ddb = dynamoClientFor(server.config);
      await leaveLock(ddb, server.config.tableName, ROOT_NAMESPACE, `${server.config.creationLockHolder}:killed`, Date.now() + 60_000);
      ddb.destroy();
      await server.close();
      server = await startLocalServer(env);
      try {
        const bytes = randomBytes(64);
        const t0 = Date.now();
        assert.deepEqual(await blobHttp(() => server.url).upload([{ ref: blobRefOf(bytes), data: bytes }]), [blobRefOf(bytes)]);
        assert.ok(Date.now() - t0 < CREATION_LOCK_WAIT_MS, 'the upload waited for the dead lock');
      } finally {
        await server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
