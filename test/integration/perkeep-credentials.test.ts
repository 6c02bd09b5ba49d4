import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { perkeepClientEnv, runTool } from '../../bench/perkeep.js';
import { dynaliteBackend } from '../support/backends.js';
import { spawn } from 'node:child_process';
import { blobRefOf } from '../../client/hash.js';
import { request } from '../support/http.js';
import { basicAuth, startTestServer, type TestServer } from '../support/test-server.js';
import { addCredential } from './credentials.suite.js';

/**
 * Perkeep's own clients with scoped credentials (docs/security.md), as Basic `userpass:ID:SECRET`
 * in their client-config.json: `pk-put file` with a write-only credential (a phone's), `pk-get`
 * with a read-only one, and neither can do the other's part. Needs PK_PUT and PK_GET (Perkeep's
 * binaries, never committed); without them it is reported skipped.
 */
const tools = process.env['PK_PUT'] && process.env['PK_GET'] ? { put: process.env['PK_PUT'], get: process.env['PK_GET'] } : undefined;
const skip = tools ? undefined : 'set PK_PUT and PK_GET to Perkeep binaries (pk-put, pk-get)';

/** A Perkeep tool's exit status and stderr (pk-put reports a refused upload on stderr and still exits 0). */
function runPk(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, err }));
  });
}

describe('Perkeep clients with scoped credentials', { skip }, () => {
  let ts: TestServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-pk-creds-'));
    ts = await startTestServer(dynaliteBackend);
  });
  after(async () => {
    await ts?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pk-put with a write-only credential, pk-get with a read-only one; each refused the other part', async () => {
    const phone = await addCredential(ts.url, basicAuth(), { label: 'phone', namespaces: ['pk-photos'], operations: ['write'] });
    const viewer = await addCredential(ts.url, basicAuth(), { label: 'viewer', namespaces: ['pk-photos'], operations: ['read'] });
    const tree = join(dir, 'tree');
    await mkdir(tree);
    const files = new Map<string, Buffer>([
      ['small', randomBytes(40 * 1024)],
      ['large', randomBytes(3_000_000)],
    ]);
    for (const [name, data] of files) await writeFile(join(tree, name), data);
    const ns = `${ts.url}/pk-photos/`;

    const ref = await runTool(tools!.put, ['file', tree], await perkeepClientEnv(join(dir, 'put'), ns, phone.auth));
    assert.match(ref, /^sha224-[0-9a-f]{56}$/);

    const out = join(dir, 'out');
    await mkdir(out);
    await runTool(tools!.get, ['-o', out, ref], await perkeepClientEnv(join(dir, 'get'), ns, viewer.auth));
    for (const [file, data] of files) assert.ok((await readFile(join(out, 'tree', file))).equals(data), `${file} differs`);

    // The phone cannot read back what it stored; the viewer cannot store.
    const refusedOut = join(dir, 'refused');
    await mkdir(refusedOut);
    await assert.rejects(runTool(tools!.get, ['-o', refusedOut, ref], await perkeepClientEnv(join(dir, 'get-phone'), ns, phone.auth)), /exit/);
    assert.deepEqual(await readdir(refusedOut), []);
    const other = join(dir, 'other');
    const bytes = randomBytes(1000);
    await writeFile(other, bytes);
    const refused = await runPk(tools!.put, ['blob', other], await perkeepClientEnv(join(dir, 'put-viewer'), ns, viewer.auth));
    assert.match(refused.err, /403/, refused.err);
    const stat = await request<{ stat: unknown[] }>(`${ns}camli/stat?camliversion=1&blob1=${blobRefOf(bytes)}`, { auth: basicAuth() });
    assert.deepEqual(stat.json!.stat, [], 'nothing stored');
  });
});
