import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dataDirHolder, DataDirBusy, lockDataDir, lockText, processStartTime } from '../../local/data-dir-lock.js';

/** One process at a time on a data directory, even when starters race each other. */
describe('data directory lock', () => {
  const racing = async (dir: string) => {
    const outcomes = await Promise.allSettled([lockDataDir(dir), lockDataDir(dir), lockDataDir(dir)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one starter holds the directory');
    for (const o of lost) assert.ok(o.reason instanceof DataDirBusy, String(o.reason));
    assert.equal((await readFile(join(dir, 'blobserver.lock'), 'utf8')).trim().split(' ')[0], String(process.pid));
  };

  it('of starters racing for a free directory, one wins and the others are told who holds it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lock-'));
    try {
      await racing(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('of starters racing to take over a stale lock (its process is gone), one wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lock-'));
    try {
      const gone = spawnSync(process.execPath, ['-e', '0']).pid;
      await writeFile(join(dir, 'blobserver.lock'), `${gone}\n`);
      await racing(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  /** A live process that is not a blobserver, as a reused pid after a crash names one. */
  const withLiveStranger = async (body: (pid: number) => Promise<void>) => {
    const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await body(stranger.pid!);
    } finally {
      stranger.kill('SIGKILL');
    }
  };

  it('a lock whose pid was reused by a live process that is not its holder never blocks start-up', async (t) => {
    if (processStartTime(process.pid) === undefined) return t.skip('no /proc/<pid>/stat here: the lock names pids only');
    const dir = await mkdtemp(join(tmpdir(), 'lock-'));
    try {
      await withLiveStranger(async (pid) => {
        // The crashed holder had this pid but started at another time.
        const started = Number(processStartTime(pid)) - 1;
        await writeFile(join(dir, 'blobserver.lock'), `${pid} ${started}\n`);
        assert.equal(await dataDirHolder(dir), undefined);
        const lock = await lockDataDir(dir);
        assert.equal((await readFile(join(dir, 'blobserver.lock'), 'utf8')).trim(), lockText(process.pid).trim());
        await lock.release();
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a lock naming its live holder (pid and start time) still refuses a second starter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lock-'));
    try {
      await withLiveStranger(async (pid) => {
        await writeFile(join(dir, 'blobserver.lock'), lockText(pid));
        assert.equal(await dataDirHolder(dir), pid);
        await assert.rejects(lockDataDir(dir), (e) => e instanceof DataDirBusy && e.pid === pid);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
