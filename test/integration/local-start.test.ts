import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
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

  it('a bad PORT: one line, and no data directory is created', async () => {
    for (const port of ['abc', '99999', '-1', '80.5']) {
      const parent = await dir();
      const dataDir = join(parent, 'data');
      const r = await refused(baseEnv(dataDir, { PORT: port }));
      assert.equal(r.code, 1, r.out);
      assertOneLine(r.out, new RegExp(`^blobserver: PORT must be a port number from 0 to 65535 \\(0: any free port\\), got "${port.replace('.', '\\.')}"$`));
      assert.equal(existsSync(dataDir), false, `PORT=${port} created the data directory`);
    }
  });

  it('BLOBSERVER_MAX_UPLOAD_SIZE beyond what the stack accepts is refused as the stack refuses it', async () => {
    const dataDir = join(await dir(), 'data');
    const r = await refused(baseEnv(dataDir, { BLOBSERVER_MAX_UPLOAD_SIZE: '9999999999' }));
    assert.equal(r.code, 1);
    assertOneLine(r.out, /^blobserver: BLOBSERVER_MAX_UPLOAD_SIZE 9999999999 cannot pass through a 6 MB Lambda event \(at most 4718592\)$/);
    assert.equal(existsSync(dataDir), false);
  });

  it('a data directory that is a file, or under a file: one line that says to set BLOBSERVER_DATA_DIR', async () => {
    const file = join(await dir(), 'plain-file');
    await writeFile(file, 'not a directory');
    for (const [dataDir, code] of [
      [file, 'EEXIST'],
      [join(file, 'data'), 'ENOTDIR'],
    ] as const) {
      const r = await refused(baseEnv(dataDir));
      assert.equal(r.code, 1);
      assertOneLine(
        r.out,
        new RegExp(`^blobserver: cannot use the data directory .*: a file is in the way .*\\(${code}\\); set BLOBSERVER_DATA_DIR to a writable directory$`),
      );
    }
  });

  it("an emulator's folder in the data directory that is a file: the same one line (the emulators start on their own threads)", async () => {
    for (const emulator of ['s3', 'dynamodb']) {
      const dataDir = await dir();
      await writeFile(join(dataDir, emulator), 'not a directory');
      const r = await refused(baseEnv(dataDir));
      assert.equal(r.code, 1, emulator);
      assertOneLine(
        r.out,
        /^blobserver: cannot use the data directory .*: a file is in the way .*\((EEXIST|ENOTDIR)\); set BLOBSERVER_DATA_DIR to a writable directory$/,
      );
    }
  });

  it('a data directory it may not write: one line (run as another user when root, whom permissions do not stop)', async () => {
    const parent = await dir();
    await chmod(parent, 0o755);
    const locked = join(parent, 'locked');
    await mkdir(locked, { mode: 0o555 });
    await chmod(locked, 0o555);
    const asRoot = process.getuid?.() === 0;
    // nobody (65534) can read the repository and write only /tmp, as any other user could.
    const proc = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...baseEnv(join(locked, 'data')), HOME: parent },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const code = await new Promise((ok) => proc.once('exit', ok));
    assert.equal(code, 1, out);
    assertOneLine(
      out,
      /^blobserver: cannot use the data directory .*\/locked\/data: it is not writable \(EACCES\); set BLOBSERVER_DATA_DIR to a writable directory$/,
    );
    assert.equal(existsSync(join(locked, 'data')), false);
  });

  it('AWS_ENDPOINT_URL where nothing listens: one line naming it, no stack', async () => {
    // A port that was free a moment ago: nothing answers there.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
    const port = (probe.address() as { port: number }).port;
    await new Promise((ok) => probe.close(ok));
    const dataDir = join(await dir(), 'data');
    const endpoint = `http://127.0.0.1:${port}`;
    const r = await refused(baseEnv(dataDir, { AWS_ENDPOINT_URL: endpoint }));
    assert.equal(r.code, 1);
    assertOneLine(r.out, new RegExp(`^blobserver: nothing answers at the AWS endpoint ${endpoint.replace(/\./g, '\\.')} \\(ECONNREFUSED\\): start it`));
    assert.equal(existsSync(dataDir), false);
  });
});
