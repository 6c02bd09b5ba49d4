import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataDirBusy, lockDataDir } from '../../local/data-dir-lock.js';

/** One process at a time on a data directory, even when starters race each other. */
describe('data directory lock', () => {
  const racing = async (dir: string) => {
    const outcomes = await Promise.allSettled([lockDataDir(dir), lockDataDir(dir), lockDataDir(dir)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one starter holds the directory');
    for (const o of lost) assert.ok(o.reason instanceof DataDirBusy, String(o.reason));
    assert.equal((await readFile(join(dir, 'blobserver.lock'), 'utf8')).trim(), String(process.pid));
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
});
