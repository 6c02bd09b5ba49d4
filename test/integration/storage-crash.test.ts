import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { blobRefOf } from '../../lambda/core/blobref.js';
import type { Backend } from '../support/backends.js';
import { blobHttp, wholeness, type TestBlob } from '../support/blob-http.js';
import { LANES, PASSWORD, USER } from '../support/test-server.js';

/**
 * kill -9 of a local server process in the middle of uploads and removes, then a restart on
 * the same data: every blob whose upload was acknowledged is there byte for byte, every
 * acknowledged removal stuck, and every blob (in flight or not) is wholly present or wholly
 * absent, and a re-upload makes it present. On the dynalite lane the child runs the embedded
 * emulators itself (they die with it, as the laptop server would); on the others it uses the
 * lane's emulators, which survive.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Child {
  url: string;
  proc: ChildProcess;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'local/main.ts')], {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`,
      BLOBSERVER_ALLOW_REMOVE: 'true',
      POWERTOOLS_LOG_LEVEL: 'CRITICAL',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((ok, fail) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    proc.stderr!.on('data', (d) => (out += d));
    proc.once('exit', (code) => fail(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
  return { url, proc };
}

function kill9(child: Child): Promise<void> {
  return new Promise((ok) => {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) return ok();
    child.proc.once('exit', () => ok());
    child.proc.kill('SIGKILL');
  });
}

const newBlob = (size: number): TestBlob => {
  const data = randomBytes(size);
  return { ref: blobRefOf(data), data };
};

for (const lane of LANES) {
  describe(`crash (kill -9) during uploads and removes [${lane.name}]`, { skip: lane.unavailable() }, () => {
    let dir: string;
    let backend: Backend | undefined;
    let child: Child | undefined;
    after(async () => {
      if (child) await kill9(child);
      await backend?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('every acknowledged blob is intact after a restart; stat, GET and enumerate agree on every blob', async () => {
      dir = await mkdtemp(join(tmpdir(), 'blobserver-crash-'));
      // The dynalite lane: the embedded emulators, in the child. Otherwise the lane's, outside it.
      const embedded = lane.name === 'dynalite+s3rver';
      if (!embedded) backend = await lane.factory(join(dir, 'backend'));
      const env = { BLOBSERVER_DATA_DIR: join(dir, 'data'), ...(backend?.env ?? {}) };
      child = await startChild(env);
      const http = blobHttp(() => child!.url);

      // Blobs to remove during the crash window, stored and acknowledged beforehand.
      const doomed = Array.from({ length: 16 }, () => newBlob(300));
      assert.equal((await http.upload(doomed)).length, doomed.length);

      const acked = new Set<string>();
      const removed = new Set<string>();
      const touched: TestBlob[] = [...doomed];
      // The case: many concurrent uploads of one 4 MB blob.
      const big = newBlob(4 << 20);
      touched.push(big);
      let stop = false;
      const ignoreCrash = (p: Promise<unknown>) => p.catch(() => undefined);
      const uploader = async () => {
        while (!stop) {
          // Small blobs (one pack, or one object when alone) and now and then a large one (its own object).
          const batch = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => newBlob(2000));
          if (Math.random() < 0.2) batch.push(newBlob(1_100_000));
          touched.push(...batch);
          await ignoreCrash(
            http.upload(batch).then((got) => {
              for (const r of got) acked.add(r);
            }),
          );
        }
      };
      const bigUploader = async () => {
        while (!stop)
          await ignoreCrash(
            http.upload([big]).then((got) => {
              for (const r of got) acked.add(r);
            }),
          );
      };
      const remover = async () => {
        for (const b of doomed) {
          if (stop) return;
          await ignoreCrash(
            http.remove([b.ref]).then((got) => {
              for (const r of got) removed.add(r);
            }),
          );
        }
      };
      const workers = [uploader(), uploader(), uploader(), bigUploader(), bigUploader(), remover()];
      // Crash once a good part of the work is acknowledged, with requests still in flight.
      // (The 4 MB blob among the acknowledged ones, so its bytes are checked after the restart.)
      while (acked.size < 30 || removed.size < 4 || !acked.has(big.ref)) await new Promise((r) => setTimeout(r, 5));
      await kill9(child);
      stop = true;
      await Promise.all(workers);

      child = await startChild(env);
      const states = new Map<string, string>();
      for (const b of touched) states.set(b.ref, wholeness(await http.view(b)));
      for (const [ref, state] of states) assert.ok(!state.startsWith('broken'), `${ref}: ${state}`);
      for (const ref of acked) if (!removed.has(ref)) assert.equal(states.get(ref), 'present', `acknowledged upload of ${ref} lost`);
      for (const ref of removed) assert.equal(states.get(ref), 'absent', `acknowledged removal of ${ref} undone`);

      // Whatever was in flight: the right bytes again make it present.
      const unsure = touched.filter((b) => states.get(b.ref) === 'absent' && !removed.has(b.ref));
      for (const b of unsure) assert.deepEqual(await http.upload([b]), [b.ref]);
      for (const b of unsure) assert.equal(wholeness(await http.view(b)), 'present', b.ref);
    });
  });
}
