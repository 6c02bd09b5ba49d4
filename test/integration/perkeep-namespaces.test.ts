import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { perkeepClientEnv, runTool } from '../../bench/perkeep.js';
import { dynaliteBackend } from '../support/backends.js';
import { request } from '../support/http.js';
import { basicAuth, PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Perkeep's own clients given a server URL with a path use it as their blob root (initPrefix in
 * Perkeep's pkg/client): `pk-put file` to `http://host/<name>/` (discovery, stat, upload),
 * `pk-get` from it, and `pk sync` from one namespace to another (enumerate, stat, get, upload),
 * against a local server; the blobs are in those namespaces alone. Needs PK_PUT, PK_GET and PK
 * (Perkeep's binaries, never committed); without them it is reported skipped.
 */
const tools =
  process.env['PK_PUT'] && process.env['PK_GET'] && process.env['PK']
    ? { put: process.env['PK_PUT'], get: process.env['PK_GET'], pk: process.env['PK'] }
    : undefined;
const AUTH = `userpass:${USER}:${PASSWORD}`;
const skip = tools ? undefined : 'set PK_PUT, PK_GET and PK to Perkeep binaries (pk-put, pk-get, pk)';

describe('Perkeep clients against a namespace', { skip }, () => {
  let ts: TestServer;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-pk-ns-'));
    ts = await startTestServer(dynaliteBackend);
  });
  after(async () => {
    await ts?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pk-put and pk-get with http://host/<name>/ work in that namespace alone; pk sync copies it to another', async () => {
    const tree = join(dir, 'tree');
    await mkdir(tree);
    const files = new Map<string, Buffer>([
      ['small', randomBytes(40 * 1024)],
      ['large', randomBytes(3_000_000)],
    ]);
    for (const [name, data] of files) await writeFile(join(tree, name), data);
    const ns = `${ts.url}/pk-alpha/`;
    const ref = await runTool(tools!.put, ['file', tree], await perkeepClientEnv(join(dir, 'put'), ns, AUTH));
    assert.match(ref, /^sha224-[0-9a-f]{56}$/);

    const stat = async (where: string) =>
      (await request<{ stat: unknown[] }>(`${where}camli/stat?camliversion=1&blob1=${ref}`, { auth: basicAuth() })).json!.stat.length;
    assert.equal(await stat(ns), 1);
    assert.equal(await stat(`${ts.url}/`), 0, 'not in the root');
    assert.equal(await stat(`${ts.url}/pk-beta/`), 0, 'not in another namespace');

    const rebuild = async (server: string, name: string) => {
      const out = join(dir, name);
      await mkdir(out);
      await runTool(tools!.get, ['-o', out, ref], await perkeepClientEnv(join(dir, `${name}-home`), server, AUTH));
      const rebuilt = join(out, 'tree');
      assert.deepEqual((await readdir(rebuilt)).sort(), [...files.keys()].sort());
      for (const [file, data] of files) assert.ok((await readFile(join(rebuilt, file))).equals(data), `${file} differs`);
    };
    await rebuild(ns, 'out-alpha');
    await assert.rejects(rebuild(`${ts.url}/`, 'out-root'), /exit/, 'pk-get from the root finds nothing');

    // pk sync enumerates the source namespace and copies what the destination lacks.
    await runTool(
      tools!.pk,
      ['sync', '--src', 'alpha', '--dest', 'beta'],
      await perkeepClientEnv(join(dir, 'sync'), ns, AUTH, { alpha: ns, beta: `${ts.url}/pk-beta/` }),
    );
    assert.equal(await stat(`${ts.url}/pk-beta/`), 1);
    await rebuild(`${ts.url}/pk-beta/`, 'out-beta');
    assert.equal(await stat(`${ts.url}/`), 0, 'still not in the root');
  });
});
