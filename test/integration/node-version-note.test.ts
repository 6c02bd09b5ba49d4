import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childEnv, listening, stop, type NpmStart } from '../support/npm-start.js';

/**
 * `npm start` on Node 20 (README's minimum): the AWS SDK would print its 9-line
 * NodeVersionSupportWarning on every start; local/node-support.ts says it in one line instead.
 * The child reports its version as v20 (as the SDK reads it: process.version), so this holds
 * whichever Node runs the tests (CI runs Node 24, which has no warning to give).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm start on Node 20: no AWS SDK Node-version block', () => {
  const dirs: string[] = [];
  let proc: NpmStart | undefined;
  after(async () => {
    if (proc) await stop(proc);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('prints at most one line about the Node version, and never the SDK block', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blobserver-node20-'));
    dirs.push(dir);
    const asNode20 = join(dir, 'as-node20.mjs');
    await writeFile(asNode20, "Object.defineProperty(process, 'version', { value: 'v20.19.6' });\n");
    const env = childEnv(join(dir, 'data'), { BLOBSERVER_AUTH: 'userpass:alice:secret' });
    delete env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED']; // as a user's shell has it
    const child = spawn(process.execPath, ['--import', asNode20, '--import', 'tsx', join(ROOT, 'local/main.ts')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    proc = Object.assign(child, { output: () => out });
    const url = await listening(proc);
    // The SDK warns when its first client is made; a request makes sure every client has been.
    assert.equal((await fetch(`${url}/camli/sha224-${'0'.repeat(56)}`, { headers: { authorization: `Basic ${btoa('alice:secret')}` } })).status, 404);
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(out, /NodeVersionSupportWarning|a\.co\/c895JFp/, out);
    const lines = out.split('\n').filter((l) => l.trim() !== '' && !/listening on/.test(l));
    assert.ok(lines.length <= 1, `more than one other line:\n${out}`);
    for (const line of lines) assert.match(line, /^note: Node v20\.19\.6 works, but AWS SDK releases after January 2027 need Node 22/);
  });
});
