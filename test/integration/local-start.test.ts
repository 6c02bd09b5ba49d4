import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { childEnv as baseEnv, listening, npmStart as start, npmStart, stop } from '../support/npm-start.js';

/**
 * `npm start` as a user runs it (a child process on the embedded emulators): what it says when
 * it cannot start is one clear line and exit status 1, never a stack trace.
 */
/** Runs `npm start` expecting it to refuse: its exit status and what it printed. */
async function refused(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = npmStart(env);
  const code = await new Promise<number | null>((ok) => proc.once('exit', (c) => ok(c)));
  return { code, out: proc.output() };
}

/** One line, no stack frames. */
function assertOneLine(out: string, pattern: RegExp): void {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected one line, got:\n${out}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(out, /^\s+at /m, 'a stack trace');
}

describe('npm start: one clear line when it cannot start', () => {
  const dirs: string[] = [];
  const procs: ChildProcess[] = [];
  after(async () => {
    await Promise.all(procs.map(stop));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const dir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'blobserver-start-'));
    dirs.push(d);
    return d;
  };

  it('a second server on the same data directory, a taken port, 0.0.0.0 without credentials; a stale lock is taken over', async () => {
    const [shared, other] = [await dir(), await dir()];
    const first = start(baseEnv(shared));
    procs.push(first);
    const url = await listening(first);
    const port = new URL(url).port;

    const second = await refused(baseEnv(shared));
    assert.equal(second.code, 1);
    assertOneLine(
      second.out,
      new RegExp(`^blobserver: the data directory ${shared.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another blobserver \\(pid ${first.pid}\\)`),
    );

    const taken = await refused(baseEnv(other, { PORT: port }));
    assert.equal(taken.code, 1);
    assertOneLine(taken.out, new RegExp(`^blobserver: port ${port} on 127\\.0\\.0\\.1 is already in use`));

    const open = await refused(baseEnv(other, { BLOBSERVER_HOST: '0.0.0.0' }));
    assert.equal(open.code, 1);
    assertOneLine(open.out, /^blobserver: refusing to listen on 0\.0\.0\.0 without credentials: set BLOBSERVER_AUTH/);

    // The first server still serves, and once it stops the directory is free again.
    assert.equal((await fetch(`${url}/camli/sha224-${'0'.repeat(56)}`)).status, 404);
    await stop(first);
    const again = start(baseEnv(shared));
    procs.push(again);
    await listening(again);
    await stop(again);

    // A lock left by a process that is gone (kill -9) does not block a start.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((ok) => gone.once('exit', ok));
    await writeFile(join(other, 'blobserver.lock'), `${gone.pid}\n`);
    const afterCrash = start(baseEnv(other));
    procs.push(afterCrash);
    await listening(afterCrash);
  });
});
