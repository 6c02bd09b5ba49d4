import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobRefOf } from '../../client/hash.js';
import { dynaliteBackend } from '../support/backends.js';
import { startCli, type CliRun } from '../support/cli.js';
import { PASSWORD, USER, basicAuth, startTestServer, type TestServer } from '../support/test-server.js';

/** Every `blobserver` command, run as the real bin (client/bin/blobserver.js) against a local server. */

type Run = CliRun;
const start = startCli;

describe('blobserver CLI against the local server', () => {
  let ts: TestServer;
  let work: string;
  let env: Record<string, string>;
  const cli = (args: string[], extraEnv: Record<string, string | undefined> = {}, cwd?: string) => start(args, { ...env, ...extraEnv }, cwd).done;
  const text = (r: Run) => r.stdout.toString();

  before(async () => {
    ts = await startTestServer(dynaliteBackend, { BLOBSERVER_ALLOW_REMOVE: 'true' });
    work = await mkdtemp(join(tmpdir(), 'blobserver-cli-'));
    env = { BLOBSERVER_URL: ts.url, BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}`, CAMLI_CONFIG_DIR: join(work, 'no-config') };
    const tree = join(work, 'tree');
    await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(tree, 'hello.txt'), 'hello\n');
    await writeFile(join(tree, 'big.bin'), randomBytes(1_500_000));
    await writeFile(join(tree, 'sub', 'zeros'), Buffer.alloc(2_200_000));
    await writeFile(join(tree, 'sub', 'deeper', 'empty'), '');
    await symlink('hello.txt', join(tree, 'link'));
  });
  after(async () => {
    await ts.close();
    await rm(work, { recursive: true, force: true });
  });

  it('--help works and a bad command exits 2 with a one-line reason', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(text(help), /Usage: blobserver/);
    const bad = await cli(['frobnicate']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'blobserver: unknown command "frobnicate" (see blobserver --help)\n');
  });

  let treeRef = '';
  it('put uploads a tree, prints one ref per path; a second put uploads nothing', async () => {
    const first = await cli(['put', '--json', join(work, 'tree'), join(work, 'tree', 'hello.txt')]);
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(text(first));
    assert.equal(summary.refs.length, 2);
    treeRef = summary.refs[0].ref;
    assert.ok(summary.uploadedBlobs > 5);
    // 1.5 MB + 2.2 MB of chunks in far fewer requests than blobs.
    assert.ok(summary.requests < summary.blobs, `${summary.requests} requests for ${summary.blobs} blobs`);

    const again = await cli(['put', join(work, 'tree'), join(work, 'tree', 'hello.txt')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(text(again), `${treeRef}\n${summary.refs[1].ref}\n`);
    const json = JSON.parse(text(await cli(['put', '--json', join(work, 'tree')])));
    assert.equal(json.uploadedBlobs, 0);
    // The top-level hello.txt gets the same file schema as the tree's (same name, mode, times).
    assert.equal(json.skippedBlobs, summary.blobs);
  });

  it('get restores a directory schema as files', async () => {
    const out = join(work, 'restored');
    await mkdir(out);
    const r = await cli(['get', treeRef, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(text(r), join(out, 'tree') + '\n');
    for (const f of ['hello.txt', 'big.bin', 'sub/zeros', 'sub/deeper/empty']) {
      assert.deepEqual(await readFile(join(out, 'tree', f)), await readFile(join(work, 'tree', f)), f);
    }
    assert.equal(await readlink(join(out, 'tree', 'link')), 'hello.txt');
    const mtimes = await Promise.all([join(out, 'tree', 'big.bin'), join(work, 'tree', 'big.bin')].map(async (p) => (await stat(p)).mtimeMs));
    const [restored, original] = mtimes as [number, number];
    assert.ok(Math.abs(restored - original) < 0.01, `mtime restored: ${mtimes}`);
  });

  it('get follows the redirect to S3 for blobs the server does not answer inline', async () => {
    // A server that answers only small blobs inline also packs only those (a packed blob has no
    // object of its own to redirect to), so the file is stored through it: its large chunks get
    // objects of their own, which GET answers with a 307 to S3.
    const sibling = await ts.startSibling({ BLOBSERVER_MAX_INLINE_GET_SIZE: '50000' });
    try {
      const dir = join(work, 'redirected');
      await mkdir(dir);
      await writeFile(join(dir, 'big.bin'), randomBytes(1_500_000));
      // The store is shared with the other tests: only the chunks this put adds are sure to be unpacked.
      const listed = async () =>
        text(await cli(['ls'], { BLOBSERVER_URL: sibling.url }))
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' '));
      const before = new Set((await listed()).map(([ref]) => ref));
      const put = await cli(['put', '--json', dir], { BLOBSERVER_URL: sibling.url });
      assert.equal(put.code, 0, put.stderr);
      const dirRef = (JSON.parse(text(put)) as { refs: { ref: string }[] }).refs[0]?.ref;
      assert.ok(dirRef, 'put --json names the directory');
      const [chunk] = (await listed()).find(([ref, size]) => !before.has(ref) && Number(size) > 50_000)!;
      const direct = await fetch(`${sibling.url}/camli/${chunk}`, { redirect: 'manual', headers: { authorization: basicAuth() } });
      await direct.body?.cancel();
      assert.equal(direct.status, 307, 'this server redirects large blobs');
      const out = join(work, 'restored-redirected');
      await mkdir(out);
      const r = await cli(['get', dirRef, '-o', out], { BLOBSERVER_URL: sibling.url });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await readFile(join(out, 'redirected', 'big.bin')), await readFile(join(dir, 'big.bin')));
    } finally {
      await sibling.close();
    }
  });

  it('get -o into a directory that does not exist yet makes it (a tree, and a raw blob with -o DIR/)', async () => {
    const out = join(work, 'not-yet', 'restore');
    const r = await cli(['get', treeRef, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(text(r), join(out, 'tree') + '\n');
    assert.deepEqual(await readFile(join(out, 'tree', 'hello.txt')), await readFile(join(work, 'tree', 'hello.txt')));
    const hello = blobRefOf('hello\n');
    const raw = await cli(['get', hello, '-o', join(work, 'raw-dir') + '/']);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(await readFile(join(work, 'raw-dir', hello), 'utf8'), 'hello\n');
    // ... and writes nothing over what is there.
    const again = await cli(['get', hello, '-o', join(work, 'raw-dir') + '/']);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /^blobserver: get: .*raw-dir\/sha224-\w+ already exists; get writes nothing over an existing path: remove it or give another -o\n$/,
    );
  });

  it("put's final progress line: stored is what was read plus the schema blobs, which it names", async () => {
    const dir = join(work, 'many-small');
    await mkdir(dir);
    // Small files: their file schemas (JSON never read from disk) outweigh their contents.
    for (let i = 0; i < 400; i++) await writeFile(join(dir, `file-${i}.txt`), `small file number ${i}\n`);
    const r = await cli(['put', '--progress', dir]);
    assert.equal(r.code, 0, r.stderr);
    const last = r.stderr
      .split(/[\r\n]/)
      .filter((l) => l.includes('blobs '))
      .at(-1)!
      .replaceAll('\u001b[K', '');
    const m = /read ([\d.]+) MB of ([\d.]+) MB, sent [\d.]+ MB, stored ([\d.]+) MB \(([\d.]+) MB of it schema\)/.exec(last);
    assert.ok(m, `the line names the schema bytes: ${last}`);
    const [read, total, stored, schema] = m.slice(1).map(Number) as [number, number, number, number];
    assert.equal(read, total);
    assert.ok(Math.abs(stored - schema - read) <= 0.15, `stored ${stored} = read ${read} + schema ${schema}`);
  });

  it('put --blob stores raw blobs; get writes them to stdout or -o', async () => {
    const path = join(work, 'raw.bin');
    const bytes = randomBytes(70_000);
    await writeFile(path, bytes);
    const r = await cli(['put', '--blob', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(text(r), blobRefOf(bytes) + '\n');
    assert.deepEqual((await cli(['get', blobRefOf(bytes)])).stdout, bytes);
    const file = join(work, 'raw.out');
    const got = await cli(['get', blobRefOf(bytes), '-o', file]);
    assert.equal(got.code, 0, got.stderr.toString());
    assert.deepEqual(await readFile(file), bytes);
  });

  it('stat prints sizes and exits 1 naming what is missing', async () => {
    const hello = blobRefOf('hello\n');
    const absent = blobRefOf('never stored');
    const ok = await cli(['stat', hello]);
    assert.equal(ok.code, 0, ok.stderr.toString());
    assert.equal(text(ok), `${hello} 6\n`);
    const missing = await cli(['stat', hello, absent]);
    assert.equal(missing.code, 1);
    assert.equal(text(missing), `${hello} 6\n`);
    assert.equal(missing.stderr, `blobserver: 1 of 2 blobs not on the server (${absent})\n`);
  });

  it('ls lists every blob in order, across pages, and honours --after/--limit', async () => {
    const all = text(await cli(['ls']))
      .trim()
      .split('\n');
    const refs = all.map((l) => l.split(' ')[0]);
    assert.deepEqual(refs, [...refs].sort());
    assert.ok(refs.includes(treeRef) && refs.includes(blobRefOf('hello\n')));
    const page = text(await cli(['ls', '--after', refs[1]!, '--limit', '3']))
      .trim()
      .split('\n');
    assert.deepEqual(page, all.slice(2, 5));
  });

  it('rm removes blobs', async () => {
    const ref = blobRefOf('hello\n');
    const r = await cli(['rm', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(text(r), `${ref}\n`);
    assert.equal((await cli(['stat', ref])).code, 1);
  });

  it("reads server and credentials from Perkeep's client-config.json; bad credentials fail in one line", async () => {
    const dir = join(work, 'config');
    await mkdir(dir, { recursive: true });
    const config = (password: string) => JSON.stringify({ servers: { mine: { server: ts.url, auth: `userpass:${USER}:${password}`, default: true } } });
    await writeFile(join(dir, 'client-config.json'), config(PASSWORD));
    const noEnv = { BLOBSERVER_URL: undefined, BLOBSERVER_AUTH: undefined, CAMLI_CONFIG_DIR: dir };
    const ok = await cli(['stat', treeRef], noEnv);
    assert.equal(ok.code, 0, ok.stderr);
    await writeFile(join(dir, 'client-config.json'), config('wrong'));
    const denied = await cli(['stat', treeRef], noEnv);
    assert.equal(denied.code, 1);
    assert.match(
      denied.stderr,
      /^blobserver: stat: \/camli\/stat answered 401[^\n]*; give credentials with --auth userpass:USER:PASSWORD or BLOBSERVER_AUTH \(or in client-config\.json\)\n$/,
    );
  });

  it('an interrupted put, run again, uploads only what is missing', async () => {
    const tree = join(work, 'resume');
    await mkdir(tree);
    for (let i = 0; i < 12; i++) await writeFile(join(tree, `f${i}`), randomBytes(1_000_000));
    // A proxy that forwards preuploads and the first upload request, then holds every later
    // upload unanswered: the put is killed while it waits, certainly midway.
    let uploadsSeen = 0;
    let firstUploadDone!: () => void;
    const uploaded = new Promise<void>((resolve) => (firstUploadDone = resolve));
    const target = new URL(ts.url);
    const proxy = createServer((req, res) => {
      if (req.url?.startsWith('/camli/upload/') && ++uploadsSeen > 1) return; // held forever
      const fwd = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        if (req.url?.startsWith('/camli/upload/')) up.on('end', firstUploadDone);
      });
      req.pipe(fwd);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const run = start(['put', '--concurrency', '1', tree], { ...env, BLOBSERVER_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
      await uploaded;
      run.child.kill('SIGKILL');
      assert.equal((await run.done).code, null);
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
    const second = JSON.parse(text(await cli(['put', '--json', tree])));
    assert.ok(second.skippedBlobs > 0, 'the first run stored some blobs');
    assert.ok(second.uploadedBlobs > 0, 'the first run was interrupted before the end');
    assert.equal(second.skippedBlobs + second.uploadedBlobs, second.blobs);
    const third = JSON.parse(text(await cli(['put', '--json', tree])));
    assert.equal(third.uploadedBlobs, 0);
    assert.equal(third.refs[0].ref, second.refs[0].ref);
  });
});
