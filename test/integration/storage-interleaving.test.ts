import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { startLocalServer, type LocalServer } from '../../local/server.js';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import type { Backend } from '../support/backends.js';
import { blobHttp, wholeness, type TestBlob } from '../support/blob-http.js';
import { LANES, PASSWORD, USER } from '../support/test-server.js';

/**
 * Upload and remove of the same blob, with every storage request of each held at a barrier
 * in a fault proxy and released in every order the two programs allow; then a bounded
 * randomized stress without barriers. After each round the blob must be wholly present or
 * wholly absent, and uploading its bytes again must make it present (docs/storage-model.md, Guarantees).
 *
 * Two servers on one storage, each behind its own proxies, so every held request is known to
 * come from the upload or from the remove.
 */

type Initial = 'absent' | 'present (old row)' | 'row without object';
/** Storage steps of each side in the nominal run: upload then remove. */
const STEPS: Record<Initial, { U: number; R: number }> = {
  // U: BatchGet, UpdateItem (usage reserved), PutObject, UpdateItem (the namespace's row-creation lock taken),
  // BatchWriteItem (the row: not read again, as no other process took the lock since the BatchGet,
  // creation-history.ts); letting the lock go is not held (isLockRelease). R: BatchGet, DeleteItem, UpdateItem (usage freed)
  absent: { U: 5, R: 3 },
  // U: BatchGet, HeadObject. R: BatchGet, DeleteItem, UpdateItem, DeleteObject
  'present (old row)': { U: 2, R: 4 },
  // U: BatchGet, HeadObject, PutObject, UpdateItem (lock taken), PutItem (re-pointed while it names the lost object).
  // R: BatchGet, DeleteItem, UpdateItem
  'row without object': { U: 5, R: 3 },
};

/**
 * Letting the row-creation lock go comes after the upload's last row write; where the remove's
 * steps fall around it changes nothing the remove can see, so it is not a step of its own.
 */
const isLockRelease = (r: { operation?: string | undefined; body: Buffer }) => r.operation === 'UpdateItem' && r.body.includes('REMOVE #h, #e');

/** Every sequence of u U's and r R's. */
function interleavings(u: number, r: number): string[] {
  if (u === 0) return ['R'.repeat(r)];
  if (r === 0) return ['U'.repeat(u)];
  return [...interleavings(u - 1, r).map((s) => `U${s}`), ...interleavings(u, r - 1).map((s) => `R${s}`)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newBlob = (size = 100): TestBlob => {
  const data = randomBytes(size);
  return { ref: blobRefOf(data), data };
};

interface Side {
  server: LocalServer;
  proxies: AwsProxy[];
}

async function startSide(backend: Backend, dir: string, env: Record<string, string>): Promise<Side> {
  const [s3, ddb] = await Promise.all([startAwsProxy(backend.env.AWS_ENDPOINT_URL_S3), startAwsProxy(backend.env.AWS_ENDPOINT_URL_DYNAMODB)]);
  const server = await startLocalServer({
    ...backend.env,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
    BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`,
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    BLOBSERVER_DATA_DIR: dir,
    PORT: '0',
    ...env,
  });
  return { server, proxies: [s3, ddb] };
}

for (const lane of LANES) {
  describe(`upload vs remove of one blob [${lane.name}]`, { skip: lane.unavailable() }, () => {
    let dir: string;
    let backend: Backend;
    let U: Side;
    let R: Side;
    const up = blobHttp(() => U.server.url);
    const rm_ = blobHttp(() => R.server.url);

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'blobserver-interleave-'));
      backend = await lane.factory(dir);
      U = await startSide(backend, join(dir, 'u'), {});
      R = await startSide(backend, join(dir, 'r'), { BLOBSERVER_ALLOW_REMOVE: 'true' });
      // U's server takes the lock once, so its marks are its own from the first round on.
      await up.upload([newBlob()]);
    });
    after(async () => {
      for (const side of [U, R]) {
        await side?.server.close();
        for (const p of side?.proxies ?? []) await p.close();
      }
      await backend?.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Puts the blob in the initial state, through the storage module (no holds yet). */
    async function prepare(b: TestBlob, initial: Initial): Promise<void> {
      if (initial === 'absent') return;
      const { index, store } = U.server.deps.storage;
      assert.deepEqual(await up.upload([b]), [b.ref]);
      const row = (await index.get([b.ref])).get(b.ref)!;
      // Old enough that a remove deletes its object right away.
      assert.deepEqual(await index.put([{ ...row, storedAt: new Date(Date.now() - 3600_000).toISOString() }], Date.now() + 60_000), []);
      if (initial === 'row without object') await store.delete(row.key);
    }

    /** Runs upload and remove with their storage requests released in `schedule` order (U/R per step). */
    async function race(b: TestBlob, schedule: string): Promise<{ received: boolean; removed: boolean }> {
      for (const p of [...U.proxies, ...R.proxies]) p.setHold((r) => !isLockRelease(r));
      const settle = <T>(p: Promise<T>) => {
        const s = { done: false, value: undefined as T | undefined, error: undefined as unknown };
        p.then(
          (v) => Object.assign(s, { done: true, value: v }),
          (e) => Object.assign(s, { done: true, error: e }),
        );
        return s;
      };
      const uploading = settle(up.upload([b]));
      const removing = settle(rm_.remove([b.ref]));
      const sides = { U: { side: U, run: uploading }, R: { side: R, run: removing } };
      /** Releases the side's next storage request; false when it had finished instead. */
      const step = async (name: 'U' | 'R'): Promise<boolean> => {
        const { side, run } = sides[name];
        for (;;) {
          const proxy = side.proxies.find((p) => p.heldCount() > 0);
          if (proxy) {
            await (await proxy.nextHeld()).release();
            return true;
          }
          if (run.done) return false;
          await sleep(2);
        }
      };
      try {
        for (const name of schedule) await step(name as 'U' | 'R');
        // Whatever is left (retries, re-reads), in turn until both are done.
        while (!(uploading.done && removing.done)) {
          await step('U');
          await step('R');
        }
      } finally {
        for (const p of [...U.proxies, ...R.proxies]) {
          p.setHold(undefined);
          while (p.heldCount() > 0) await (await p.nextHeld()).release();
        }
      }
      if (uploading.error) throw uploading.error;
      if (removing.error) throw removing.error;
      return { received: uploading.value!.includes(b.ref), removed: removing.value!.includes(b.ref) };
    }

    for (const initial of Object.keys(STEPS) as Initial[]) {
      const { U: u, R: r } = STEPS[initial];
      const schedules = interleavings(u, r);
      it(`${initial}: every one of the ${schedules.length} orders of their storage steps leaves the blob whole or absent, and a re-upload restores it`, async () => {
        const outcomes = new Map<string, string>();
        for (const schedule of schedules) {
          const b = newBlob();
          await prepare(b, initial);
          const { received, removed } = await race(b, schedule);
          const state = wholeness(await up.view(b));
          assert.ok(!state.startsWith('broken'), `${schedule}: ${state}`);
          assert.ok(received, `${schedule}: upload not received`);
          assert.ok(removed, `${schedule}: remove not done`);
          // Whole programs in sequence are linearizable: remove then upload leaves it, upload then remove does not.
          if (schedule === 'R'.repeat(r) + 'U'.repeat(u)) assert.equal(state, 'present', `${schedule}: remove-then-upload`);
          if (schedule === 'U'.repeat(u) + 'R'.repeat(r)) assert.equal(state, 'absent', `${schedule}: upload-then-remove`);
          outcomes.set(schedule, state);
          assert.deepEqual(await up.upload([b]), [b.ref]);
          assert.equal(wholeness(await up.view(b)), 'present', `${schedule}: re-upload did not restore it`);
          // Usage (storage-model.md, "Usage and quotas"): after every order, the record counts exactly the rows.
          const rows = await U.server.deps.storage.index.list('', 100_000);
          const usage = await U.server.deps.storage.usage.read();
          assert.deepEqual(
            { bytes: usage.bytes, blobs: usage.blobs },
            { bytes: rows.reduce((n, r) => n + r.size, 0), blobs: rows.length },
            `${schedule}: usage differs from the rows`,
          );
        }
        // Both outcomes really occur (the barriers did interleave the programs).
        assert.ok([...outcomes.values()].includes('present') && [...outcomes.values()].includes('absent'), JSON.stringify([...outcomes]));
      });
    }

    it('bounded randomized stress: concurrent uploads (packed and single) and removes of a few blobs', async () => {
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const blobs = [newBlob(50), newBlob(60), newBlob(1_100_000), newBlob(70)];
      for (let round = 0; round < 12; round++) {
        const ops = Array.from({ length: 6 }, () => {
          const pick = blobs.filter(() => random() < 0.5);
          const chosen = pick.length ? pick : [blobs[Math.floor(random() * blobs.length)]!];
          return random() < 0.6 ? up.upload(chosen) : rm_.remove(chosen.map((b) => b.ref));
        });
        await Promise.all(ops);
        for (const b of blobs) {
          const state = wholeness(await up.view(b));
          assert.ok(!state.startsWith('broken'), `round ${round}, ${b.ref}: ${state}`);
        }
      }
      assert.deepEqual((await up.upload(blobs)).sort(), blobs.map((b) => b.ref).sort());
      for (const b of blobs) assert.equal(wholeness(await up.view(b)), 'present', b.ref);
      const rows = await U.server.deps.storage.index.list('', 100_000);
      const usage = await U.server.deps.storage.usage.read();
      assert.deepEqual(
        { bytes: usage.bytes, blobs: usage.blobs },
        { bytes: rows.reduce((n, r) => n + r.size, 0), blobs: rows.length },
        'usage differs from the rows',
      );
    });
  });
}
