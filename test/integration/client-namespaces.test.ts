import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dynaliteBackend } from '../support/backends.js';
import { runCli } from '../support/cli.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The client library and CLI take a server URL with a path as that namespace's root (DESIGN §12):
 * `blobserver put --server http://host/<name>/` stores there (and only there), and get, stat and
 * ls with the same URL see exactly that namespace; batch reads find its locate root in its
 * discovery. The CLI as users run it, against a local server.
 */
describe('client and CLI against a namespace', () => {
  let ts: TestServer;
  let work: string;
  const env = () => ({ BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`, CAMLI_CONFIG_DIR: join(work, 'no-config') });
  const cli = (server: string, ...args: string[]) => runCli(['--server', server, ...args], env(), work);
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'blobserver-cli-ns-'));
    ts = await startTestServer(dynaliteBackend);
  });
  after(async () => {
    await ts?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('put, get, stat and ls with http://host/<name>/ work in that namespace alone', async () => {
    await mkdir(join(work, 'tree'));
    await writeFile(join(work, 'tree', 'a.txt'), 'namespaced hello\n');
    await writeFile(join(work, 'tree', 'big.bin'), Buffer.alloc(3 << 20, 7));
    const put = await cli(`${ts.url}/photos/`, 'put', '--json', join(work, 'tree'));
    assert.equal(put.code, 0, put.stderr);
    const ref = (JSON.parse(put.stdout.toString()) as { refs: { ref: string }[] }).refs[0]!.ref;

    for (const server of [`${ts.url}/photos/`, `${ts.url}/photos`]) {
      const stat = await cli(server, 'stat', ref);
      assert.equal(stat.code, 0, `${server}: ${stat.stderr}`);
    }
    for (const server of [ts.url, `${ts.url}/other/`]) {
      const stat = await cli(server, 'stat', ref);
      assert.equal(stat.code, 1, `${server} has it: ${stat.stdout}`);
      const ls = await cli(server, 'ls');
      assert.equal(ls.code, 0, ls.stderr);
      assert.doesNotMatch(ls.stdout.toString(), new RegExp(ref));
    }
    const ls = await cli(`${ts.url}/photos/`, 'ls');
    assert.match(ls.stdout.toString(), new RegExp(ref));

    const out = join(work, 'restored');
    await mkdir(out);
    const get = await cli(`${ts.url}/photos/`, 'get', ref, '-o', out);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(await readFile(join(out, 'tree', 'a.txt'), 'utf8'), 'namespaced hello\n');
    assert.ok((await readFile(join(out, 'tree', 'big.bin'))).equals(Buffer.alloc(3 << 20, 7)));

    const refused = await cli(`${ts.url}/Not_A_Name/`, 'stat', ref);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /namespace/);
  });
});
