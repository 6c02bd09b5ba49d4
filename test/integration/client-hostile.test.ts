import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServerClient } from '../../client/http-client.js';
import { restoreSchema } from '../../client/node/restore.js';
import { parseSchema } from '../../client/schema.js';
import { runCli } from '../support/cli.js';
import { startHostileServer, type HostileServer } from '../support/hostile-blob-server.js';

/**
 * `blobserver get` against a malicious server (issue 16): every blob hashes to its ref, the
 * schemas are crafted. Restore must write nothing outside -o DIR, never make setuid files, and
 * stop reading bodies past the size a schema declares or 16 MiB, failing with one line and exit 1.
 */

describe('blobserver get against a hostile server', () => {
  let hostile: HostileServer;
  let work: string;
  let n = 0;
  /** A fresh, empty -o directory and the "outside" it must not touch. */
  const fresh = async () => {
    const base = join(work, `case${++n}`);
    await mkdir(join(base, 'out'), { recursive: true });
    await mkdir(join(base, 'outside'));
    return { out: join(base, 'out'), outside: join(base, 'outside') };
  };
  const get = (ref: string, out?: string) =>
    runCli(['get', ref, ...(out ? ['-o', out] : [])], { BLOBSERVER_URL: hostile.url, BLOBSERVER_AUTH: 'none', CAMLI_CONFIG_DIR: join(work, 'none') });
  const oneLine = (stderr: string) => {
    assert.equal(stderr.split('\n').length, 2, `one line: ${stderr}`);
    assert.match(stderr, /^blobserver: get: /);
  };

  before(async () => {
    hostile = await startHostileServer();
    work = await mkdtemp(join(tmpdir(), 'client-hostile-'));
  });
  after(async () => {
    await hostile.close();
    await rm(work, { recursive: true, force: true });
  });

  it('a symlink then a directory of the same name: nothing is written through the link', async () => {
    const { out, outside } = await fresh();
    const top = hostile.directory('top', [hostile.symlink('link', outside), hostile.directory('link', [hostile.file('pwned', 'evil')])]);
    const r = await get(top, out);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.match(r.stderr, /"link" twice/);
    assert.deepEqual(await readdir(outside), []);
  });

  it('a symlink then a file of the same name: the file the link points at is untouched', async () => {
    const { out, outside } = await fresh();
    const victim = join(outside, 'victim');
    await writeFile(victim, 'precious');
    const top = hostile.directory('top', [hostile.symlink('victim', victim), hostile.file('victim', 'evil')]);
    const r = await get(top, out);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.equal(await readFile(victim, 'utf8'), 'precious');
  });

  it('an entry where a symlink already is (an -o DIR holding one) is refused, not followed', async () => {
    const { out, outside } = await fresh();
    await symlink(join(outside, 'target'), join(out, 'planted'));
    const r = await get(hostile.file('planted', 'evil'), out);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.match(r.stderr, /already exists/);
    assert.deepEqual(await readdir(outside), []);
  });

  it('mode 06777 gives rwxrwxrwx, never setuid, setgid or sticky', async () => {
    const { out } = await fresh();
    const ref = hostile.schema({
      camliVersion: 1,
      camliType: 'file',
      fileName: 'suid',
      unixPermission: '07777',
      parts: [{ blobRef: hostile.blob('#!/bin/sh\n'), size: 10 }],
    });
    const dir = hostile.schema({
      camliVersion: 1,
      camliType: 'directory',
      fileName: 'd',
      unixPermission: '01777',
      entries: hostile.schema({ camliVersion: 1, camliType: 'static-set', members: [ref] }),
    });
    const r = await get(dir, out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await stat(join(out, 'd', 'suid'))).mode & 0o7777, 0o777);
    assert.equal((await stat(join(out, 'd'))).mode & 0o7777, 0o777);
  });

  it('a chunk whose body never ends is cut off at the size the schema declares', async () => {
    const { out } = await fresh();
    const file = hostile.file('f', 'hello');
    const chunk = hostile.blob('hello');
    hostile.serve(chunk, hostile.endless);
    hostile.streamed = 0;
    const r = await get(file, out);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.match(r.stderr, new RegExp(`more than 5 bytes \\(the size its schema declares\\) for ${chunk}`));
    // What the server managed to write before the client hung up: socket buffers, not the stream.
    assert.ok(hostile.streamed < 16 << 20, `${hostile.streamed} bytes streamed`);
  });

  it('a bad file in the middle of a large directory stops the restore: one line, and nothing left open or unfinished', async () => {
    // More files than restore creates ahead of their contents, the bad one among those created ahead.
    const { out } = await fresh();
    const files = Array.from({ length: 300 }, (_, i) => hostile.file(`f${String(i).padStart(3, '0')}`, `content of file ${i}`));
    const bad = hostile.blob('content of file 150');
    hostile.serve(bad, hostile.endless);
    const r = await get(hostile.directory('many', files), out);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.match(r.stderr, new RegExp(`for ${bad}`));
    // Every file before the bad one is whole and the bad one empty; after it, those already being
    // written when it failed are whole, and the rest (created ahead of their contents) empty.
    const content = (name: string) => readFile(join(out, 'many', name), 'utf8');
    for (let i = 0; i < 150; i++) assert.equal(await content(`f${String(i).padStart(3, '0')}`), `content of file ${i}`);
    assert.equal(await content('f150'), '');
    const after = (await readdir(join(out, 'many'))).filter((n) => n > 'f150');
    for (const name of after) {
      const got = await content(name);
      if (got !== '') assert.equal(got, `content of file ${Number(name.slice(1))}`, `${name} is whole or empty`);
    }
  });

  it('a raw blob whose body never ends is cut off at 16 MiB', async () => {
    const ref = hostile.blob('raw');
    hostile.serve(ref, hostile.endless);
    hostile.streamed = 0;
    const r = await get(ref);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.match(r.stderr, /more than 16777216 bytes \(Perkeep's largest blob\)/);
    assert.equal(r.stdout.length, 0, 'nothing unverified reaches stdout');
    assert.ok(hostile.streamed < 32 << 20, `${hostile.streamed} bytes streamed`);
  });

  it('a 60 MB schema blob (correctly hashed, sent without a length) is refused at 16 MiB', async () => {
    const { out } = await fresh();
    const padding = 'x'.repeat(60_000_000);
    const bigSet = hostile.schema({ camliVersion: 1, camliType: 'static-set', members: [], padding });
    hostile.withoutLength(bigSet);
    const dir = hostile.schema({ camliVersion: 1, camliType: 'directory', fileName: 'big', entries: bigSet });
    const r = await get(dir, out);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.match(r.stderr, new RegExp(`more than 16777216 bytes \\(Perkeep's largest blob\\) for ${bigSet}`));
  });

  it('names that are not one path element are refused', async () => {
    const { out } = await fresh();
    const client = new BlobServerClient({ server: hostile.url });
    for (const fileName of ['', '.', '..', 'a/b', '../up', 'nul\0byte']) {
      const ref = hostile.schema({ camliVersion: 1, camliType: 'file', fileName, parts: [] });
      const top = hostile.schema({
        camliVersion: 1,
        camliType: 'directory',
        fileName: `d${n++}`,
        entries: hostile.schema({ camliVersion: 1, camliType: 'static-set', members: [ref] }),
      });
      const schema = parseSchema(Buffer.from(await (await fetch(`${hostile.url}/camli/${top}`)).arrayBuffer()))!;
      await assert.rejects(restoreSchema(client, top, schema, out), /not a single path element/, JSON.stringify(fileName));
    }
    for (const d of await readdir(out)) assert.deepEqual(await readdir(join(out, d)), [], 'nothing written');
    await assert.rejects(lstat(join(work, 'up')));
  });

  // The tree was 10,000 levels of one-letter names, stopped near depth 2,036 when the path
  // passed 4,096 bytes; names of 100 letters reach that bound at depth 40, in a fraction of the time.
  it('a tree deeper than a path may be long stops with one short line: the error, the depth, the path shortened', async () => {
    const { out } = await fresh();
    let top = hostile.file('leaf', 'bottom');
    for (let i = 0; i < 100; i++) top = hostile.directory('d'.repeat(100), [top]);
    const r = await get(top, out);
    assert.equal(r.code, 1);
    oneLine(r.stderr);
    assert.ok(r.stderr.length < 400, `${r.stderr.length} characters: ${r.stderr.slice(0, 400)}`);
    assert.match(r.stderr, /ENAMETOOLONG \(\w+\) at depth \d+, .*\.\.\..* \(\d+ characters\)$/m);
  });

  it('a file listed twice in one directory is refused', async () => {
    const { out } = await fresh();
    const r = await get(hostile.directory('top', [hostile.file('twice', 'one'), hostile.file('twice', 'two')]), out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"twice" twice/);
    // The directory's member schemas are all read (and checked) before any of them is written.
    await assert.rejects(lstat(join(out, 'top', 'twice')), { code: 'ENOENT' });
  });
});
