import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServerClient } from '../../client/http-client.js';
import { blobRefOf } from '../../client/hash.js';
import { decryptBlob, encryptBlob, formatMeta, parseKey, parseMeta, type AgeKey, type MetaEntry } from '../../client/encrypt/format.js';
import { EncryptedStore } from '../../client/encrypt/encrypted-store.js';
import { generateX25519Identity } from 'age-encryption';
import { dynaliteBackend } from '../support/backends.js';
import { runCli, type CliRun } from '../support/cli.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * `blobserver put/get/ls/stat --encrypt`: Perkeep's encrypt format written to two namespaces
 * of one local server (encrypted blobs, meta; the CLI's defaults), read back byte for byte; dedup through the meta;
 * meta packing; and refusals (key permissions, wrong key, tampered ciphertext and meta) that
 * write nothing.
 */

const AUTH = `userpass:${USER}:${PASSWORD}`;

async function treeFiles(dir: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) for (const [k, v] of await treeFiles(p, `${prefix}${e.name}/`)) out.set(k, v);
    else out.set(prefix + e.name, blobRefOf(await readFile(p)));
  }
  return out;
}

async function allBlobs(client: BlobServerClient): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const b of client.enumerate()) out.set(b.blobRef, (await client.get(b.blobRef))!);
  return out;
}

describe('blobserver --encrypt (Perkeep encrypt format) against two namespaces of the local server', () => {
  let ts: TestServer;
  let blobs: BlobServerClient;
  let root: BlobServerClient;
  let meta: BlobServerClient;
  let work: string;
  let keyFile: string;
  let key: AgeKey;
  let env: Record<string, string>;
  let enc: string[];
  const cli = (args: string[]) => runCli(args, env);
  const text = (r: CliRun) => r.stdout.toString();

  before(async () => {
    ts = await startTestServer(dynaliteBackend, { BLOBSERVER_ALLOW_REMOVE: 'true' });
    // The CLI's default namespaces of one server: enc-blobs and enc-meta.
    blobs = new BlobServerClient({ server: `${ts.url}/enc-blobs`, auth: AUTH });
    meta = new BlobServerClient({ server: `${ts.url}/enc-meta`, auth: AUTH });
    root = new BlobServerClient({ server: ts.url, auth: AUTH });
    work = await mkdtemp(join(tmpdir(), 'blobserver-encrypt-'));
    env = { BLOBSERVER_URL: ts.url, BLOBSERVER_AUTH: AUTH, CAMLI_CONFIG_DIR: join(work, 'no-config') };
    keyFile = join(work, 'key');
    enc = ['--encrypt', keyFile];
    const tree = join(work, 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'secret.txt'), 'the plaintext nobody may read\n');
    await writeFile(join(tree, 'big.bin'), randomBytes(3_000_000));
    await writeFile(join(tree, 'sub', 'zeros'), Buffer.alloc(1_000_000));
  });
  after(async () => {
    await ts?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('genkey writes a mode-600 key file; a key file readable by others is refused in one line, with nothing sent', async () => {
    const made = await cli(['genkey', keyFile]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(text(made), /^age1[0-9a-z]+\n$/);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    key = await parseKey(await readFile(keyFile, 'utf8'));
    assert.equal((await cli(['genkey', keyFile])).code, 1, 'an existing key file is never overwritten');

    await chmod(keyFile, 0o644);
    const loose = await cli(['put', ...enc, join(work, 'tree')]);
    assert.equal(loose.code, 1);
    assert.equal(loose.stderr, `blobserver: key file ${keyFile} permissions are too permissive (644), they should be 600 (chmod 600 ${keyFile})\n`);
    await chmod(keyFile, 0o600);
    assert.equal((await allBlobs(blobs)).size + (await allBlobs(meta)).size, 0);
  });

  let treeRef = '';
  it('put --encrypt stores only ciphertext under ciphertext refs; get --encrypt restores the tree byte for byte', async () => {
    const put = await cli(['put', '--json', ...enc, join(work, 'tree')]);
    assert.equal(put.code, 0, put.stderr);
    const summary = JSON.parse(text(put));
    treeRef = summary.refs[0].ref;
    assert.equal(summary.plain.skippedBlobs, 0);
    const stored = await allBlobs(blobs);
    const metas = await allBlobs(meta);
    assert.ok(stored.size >= 5, `${stored.size} encrypted blobs`);
    assert.equal(metas.size, 1, 'one meta blob for the whole put');
    assert.ok(!stored.has(treeRef) && !metas.has(treeRef));
    assert.equal((await allBlobs(root)).size, 0, 'nothing in the root namespace');
    const entries = parseMeta(await decryptBlob(key, [...metas.values()][0]!, 'meta'), 'meta');
    assert.equal(entries.length, stored.size);
    for (const e of entries) {
      assert.ok(stored.has(e.encRef), 'every meta entry names a stored ciphertext');
      assert.ok(!stored.has(e.plainRef));
    }
    for (const bytes of [...stored.values(), ...metas.values()]) {
      assert.equal(bytes[0], 2, 'version byte');
      assert.equal(Buffer.from(bytes).toString('latin1').slice(1, 22), 'age-encryption.org/v1');
      assert.ok(!Buffer.from(bytes).includes('plaintext nobody'));
      assert.ok(!Buffer.from(bytes).includes('secret.txt'));
    }

    const out = join(work, 'out');
    await mkdir(out);
    const get = await cli(['get', ...enc, treeRef, '-o', out]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(text(get), `${join(out, 'tree')}\n`);
    assert.deepEqual(await treeFiles(join(out, 'tree')), await treeFiles(join(work, 'tree')));
    assert.deepEqual(await readdir(out), ['tree'], 'no staging directory left behind');

    // Without the key the server's blobs are just ciphertext: the plaintext ref is not there.
    assert.equal((await cli(['stat', treeRef])).code, 1);
  });

  it('stat and ls --encrypt answer with plaintext refs and sizes', async () => {
    const st = await cli(['stat', ...enc, treeRef]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(text(st), new RegExp(`^${treeRef} \\d+\\n$`));
    const missing = await cli(['stat', ...enc, blobRefOf(new TextEncoder().encode('never stored'))]);
    assert.equal(missing.code, 1);
    const ls = text(await cli(['ls', ...enc]))
      .trim()
      .split('\n');
    assert.ok(ls.includes(`${treeRef} ${text(st).trim().split(' ')[1]}`));
    assert.deepEqual([...ls].sort(), ls, 'in ref order');
    assert.equal(ls.length, (await allBlobs(blobs)).size);
    assert.equal(
      text(await cli(['ls', ...enc, '--limit', '2']))
        .trim()
        .split('\n').length,
      2,
    );
  });

  it('a second put sends nothing (dedup by plaintext ref through the meta); small meta blobs are packed into one', async () => {
    const before = (await allBlobs(blobs)).size;
    const again = JSON.parse(text(await cli(['put', '--json', ...enc, join(work, 'tree')])));
    assert.equal(again.refs[0].ref, treeRef);
    assert.equal(again.plain.skippedBlobs, again.plain.blobs);
    assert.equal(again.uploadedBlobs, 0);
    assert.equal((await allBlobs(blobs)).size, before);
    // Its progress line counts the blobs the meta named as done: a resumed put reaches its total.
    const progress = await cli(['put', '--progress', ...enc, join(work, 'tree')]);
    const last = progress.stderr.split('\r\x1b[K').at(-1)!;
    assert.match(last, new RegExp(`^blobs ${again.plain.blobs}/${again.plain.blobs}, `), last);

    // Two more puts, each new content: three meta blobs, packed into one holding every entry.
    for (const name of ['more-1', 'more-2']) {
      await writeFile(join(work, name), randomBytes(1000));
      const r = await cli(['put', '--json', ...enc, join(work, name)]);
      assert.equal(r.code, 0, r.stderr);
    }
    const metas = await allBlobs(meta);
    assert.equal(metas.size, 1, 'packed');
    const entries = parseMeta(await decryptBlob(key, [...metas.values()][0]!, 'meta'), 'meta');
    assert.equal(entries.length, (await allBlobs(blobs)).size);
  });

  it('a wrong key is refused in one line, before anything is sent or written', async () => {
    const other = join(work, 'other-key');
    assert.equal((await cli(['genkey', other])).code, 0);
    const wrong = ['--encrypt', other];
    const counts = [(await allBlobs(blobs)).size, (await allBlobs(meta)).size];
    await writeFile(join(work, 'new-file'), 'new');
    const put = await cli(['put', ...wrong, join(work, 'new-file')]);
    assert.equal(put.code, 1);
    assert.match(put.stderr, /^blobserver: encrypt: meta blob sha224-[0-9a-f]{56} is not encrypted to this key \(wrong key file\?\)\n$/);
    const out = join(work, 'out-wrong');
    await mkdir(out);
    const get = await cli(['get', ...wrong, treeRef, '-o', out]);
    assert.equal(get.code, 1);
    assert.match(get.stderr, /is not encrypted to this key/);
    assert.deepEqual(await readdir(out), []);
    assert.deepEqual([(await allBlobs(blobs)).size, (await allBlobs(meta)).size], counts);
  });

  /** Replaces all meta with one meta blob of `entries` (as someone with write access and the public recipient could). */
  async function forgeMeta(entries: MetaEntry[]) {
    await meta.remove([...(await allBlobs(meta)).keys()]);
    const sealed = await encryptBlob(key, formatMeta(entries));
    await meta.uploadBatch([{ ref: blobRefOf(sealed), bytes: sealed }]);
  }

  it('a tampered ciphertext is refused in one line and leaves no partial file or tree', async () => {
    const original = [...(await allBlobs(meta)).values()][0]!;
    const entries = parseMeta(await decryptBlob(key, original, 'meta'), 'meta');
    // The largest chunk of big.bin: the restore is well under way when it comes.
    const victim = entries.reduce((a, b) => (b.plainSize > a.plainSize ? b : a));
    const sealed = Buffer.from((await blobs.get(victim.encRef))!);
    sealed[sealed.length - 100]! ^= 1;
    const tamperedRef = blobRefOf(sealed);
    await blobs.uploadBatch([{ ref: tamperedRef, bytes: sealed }]);
    await forgeMeta(entries.map((e) => (e === victim ? { ...e, encRef: tamperedRef } : e)));

    const out = join(work, 'out-tampered');
    await mkdir(out);
    const get = await cli(['get', ...enc, treeRef, '-o', out]);
    assert.equal(get.code, 1);
    assert.match(
      get.stderr,
      new RegExp(`^blobserver: encrypt: encrypted blob ${tamperedRef} \\(for ${victim.plainRef}\\) fails decryption \\(tampered or corrupt\\)[^\\n]*\\n$`),
    );
    assert.deepEqual(await readdir(out), [], 'nothing restored');

    // A meta entry pointing at another blob's (intact) ciphertext: decrypts, but not to the ref it claims.
    const other = entries.find((e) => e !== victim)!;
    await forgeMeta(entries.map((e) => (e === victim ? { ...e, encRef: other.encRef } : e)));
    const swapped = await cli(['get', ...enc, treeRef, '-o', out]);
    assert.equal(swapped.code, 1);
    assert.equal(swapped.stderr, `blobserver: encrypt: encrypted blob ${other.encRef} does not decrypt to ${victim.plainRef} (tampered meta)\n`);
    assert.deepEqual(await readdir(out), []);
    await forgeMeta(entries);
  });

  it('a tampered meta blob is refused in one line, before anything is sent or written', async () => {
    const [ref, original] = [...(await allBlobs(meta)).entries()][0]!;
    const tampered = Buffer.from(original);
    tampered[tampered.length - 5]! ^= 1;
    await meta.remove([ref]);
    const tamperedRef = blobRefOf(tampered);
    await meta.uploadBatch([{ ref: tamperedRef, bytes: tampered }]);
    const before = (await allBlobs(blobs)).size;
    await writeFile(join(work, 'after-tamper'), 'x');
    const put = await cli(['put', ...enc, join(work, 'after-tamper')]);
    assert.equal(put.code, 1);
    assert.match(put.stderr, new RegExp(`^blobserver: encrypt: meta blob ${tamperedRef} fails decryption \\(tampered or corrupt\\)[^\\n]*\\n$`));
    const out = join(work, 'out-meta');
    await mkdir(out);
    assert.equal((await cli(['get', ...enc, treeRef, '-o', out])).code, 1);
    assert.deepEqual(await readdir(out), []);
    assert.equal((await allBlobs(blobs)).size, before);
    assert.equal((await allBlobs(meta)).size, 1);
  });

  it('a put that fails midway writes the meta of what it stored: run again, it sends only the rest', async () => {
    // Upload requests of at most 600 kB, so 30 blobs of 100 kB take several; the third fails.
    const small = await startTestServer(dynaliteBackend, { BLOBSERVER_MAX_UPLOAD_SIZE: '600000' });
    const key = await parseKey(await generateX25519Identity());
    try {
      let uploads = 0;
      const failing: typeof fetch = async (input, init) => {
        if (init?.method === 'POST' && /\/camli\/upload\//.test(String(input)) && ++uploads >= 3) {
          return new Response(JSON.stringify({ errorText: 'injected failure' }), { status: 400, headers: { 'content-type': 'application/json' } });
        }
        return fetch(input, init);
      };
      const ns = (name: string, f?: typeof fetch) => new BlobServerClient({ server: `${small.url}/${name}`, auth: AUTH, ...(f && { fetch: f }) });
      const data = Array.from({ length: 30 }, () => randomBytes(100_000));
      const first = await EncryptedStore.open({ blobs: ns('enc-blobs', failing), meta: ns('enc-meta'), key });
      const w1 = first.writer({ concurrency: 1 });
      await assert.rejects(
        (async () => {
          for (const d of data) await w1.add({ ref: blobRefOf(d), bytes: d });
          await w1.flush();
        })(),
        /injected failure/,
      );
      const stored = w1.plainStats.storedBlobs;
      assert.ok(stored > 0 && stored < 30, `${stored} stored before the failure`);

      const again = await EncryptedStore.open({ blobs: ns('enc-blobs'), meta: ns('enc-meta'), key });
      assert.equal(again.size.blobs, stored, 'the meta names exactly what was stored');
      const w2 = again.writer();
      for (const d of data) await w2.add({ ref: blobRefOf(d), bytes: d });
      const stats = await w2.flush();
      assert.equal(stats.plain.skippedBlobs, stored);
      assert.equal(stats.plain.storedBlobs, 30 - stored);
      const last = await EncryptedStore.open({ blobs: ns('enc-blobs'), meta: ns('enc-meta'), key });
      for (const d of data) assert.deepEqual(Buffer.from((await last.get(blobRefOf(d)))!), d);
    } finally {
      await small.close();
    }
  });
});
