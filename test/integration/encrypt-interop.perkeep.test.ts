import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runTool } from '../../bench/perkeep.js';
import { BlobServerClient } from '../../client/http-client.js';
import { dynaliteBackend } from '../support/backends.js';
import { runCli } from '../support/cli.js';
import { startEncryptPerkeepd, type EncryptPerkeepd } from '../support/perkeepd-encrypt.js';
import { PASSWORD, USER, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * Byte compatibility with Perkeep's encrypt storage, both ways: perkeepd's `storage-encrypt`
 * over `storage-remote` targets on our server writes (pk-put) what `blobserver get --encrypt`
 * restores, and reads (pk-get, after a restart re-reads the meta) what `blobserver put
 * --encrypt` wrote. Needs PERKEEPD, PK_PUT and PK_GET (Perkeep's binaries, never committed).
 */

const bins = { perkeepd: process.env['PERKEEPD'], put: process.env['PK_PUT'], get: process.env['PK_GET'] };
const skip = bins.perkeepd && bins.put && bins.get ? undefined : 'set PERKEEPD, PK_PUT and PK_GET to Perkeep binaries (perkeepd, pk-put, pk-get)';
const USERPASS = `userpass:${USER}:${PASSWORD}`;

async function makeTree(root: string, seed: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 12; i++) files.set(`small-${seed}-${i}`, randomBytes(20_000 + i));
  files.set(`large-${seed}`, randomBytes(3_500_000));
  await mkdir(root, { recursive: true });
  for (const [name, data] of files) await writeFile(join(root, name), data);
  return files;
}

async function assertSameTree(dir: string, files: Map<string, Buffer>) {
  assert.deepEqual((await readdir(dir)).sort(), [...files.keys()].sort());
  for (const [name, data] of files) assert.ok((await readFile(join(dir, name))).equals(data), `${name} differs`);
}

describe('encrypt format interop with perkeepd (storage-encrypt over storage-remote on two namespaces of one server)', { skip }, () => {
  let ts: TestServer;
  let dir: string;
  let keyFile: string;
  let blobsUrl: string;
  let metaUrl: string;
  let perkeepd: EncryptPerkeepd | undefined;
  let env: Record<string, string>;
  const startPerkeepd = async () => {
    await perkeepd?.close();
    perkeepd = await startEncryptPerkeepd(bins.perkeepd!, dir, { blobsUrl, metaUrl, keyFile, userpass: USERPASS });
    return perkeepd;
  };
  const pkEnv = async (home: string) => {
    await mkdir(join(home, 'config'), { recursive: true });
    await writeFile(join(home, 'config', 'client-config.json'), JSON.stringify({ servers: { pk: { server: perkeepd!.url, auth: USERPASS, default: true } } }));
    return { HOME: home, CAMLI_CONFIG_DIR: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache') };
  };
  // One flag as a namespace name, the other as a URL: both forms name the same blob roots.
  const ours = () => ['--encrypt', keyFile, '--encrypted-namespace', 'pk-blobs', '--meta-namespace', metaUrl];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blobserver-enc-interop-'));
    ts = await startTestServer(dynaliteBackend, { BLOBSERVER_ALLOW_REMOVE: 'true' });
    // Two namespaces of one server; a Perkeep client given a URL with a path uses it as its blob root.
    blobsUrl = `${ts.url}/pk-blobs`;
    metaUrl = `${ts.url}/pk-meta`;
    env = { BLOBSERVER_URL: ts.url, BLOBSERVER_AUTH: USERPASS, CAMLI_CONFIG_DIR: join(dir, 'no-config') };
    keyFile = join(dir, 'key');
    const gen = await runCli(['genkey', keyFile], env);
    assert.equal(gen.code, 0, gen.stderr);
  });
  after(async () => {
    await perkeepd?.close();
    await ts?.close();
    await rm(dir, { recursive: true, force: true });
  });

  let perkeepRef = '';
  let perkeepFiles = new Map<string, Buffer>();
  it('pk-put through perkeepd, then blobserver get --encrypt: byte for byte', async () => {
    const files = await makeTree(join(dir, 'from-perkeep'), 'pk');
    await startPerkeepd();
    const ref = await runTool(bins.put!, ['file', join(dir, 'from-perkeep')], await pkEnv(join(dir, 'pk-put')));
    perkeepRef = ref;
    perkeepFiles = files;
    assert.match(ref, /^sha224-[0-9a-f]{56}$/);
    // What perkeepd stored is ciphertext under other refs: the plaintext ref is not on our server.
    for (const server of [ts.url, blobsUrl, metaUrl]) assert.equal((await new BlobServerClient({ server, auth: USERPASS }).stat([ref])).length, 0);

    const out = join(dir, 'ours-out');
    await mkdir(out);
    const get = await runCli(['get', ...ours(), ref, '-o', out], env);
    assert.equal(get.code, 0, get.stderr);
    await assertSameTree(join(out, 'from-perkeep'), files);
  });

  it('blobserver put --encrypt, then pk-get through a restarted perkeepd: byte for byte', async () => {
    const files = await makeTree(join(dir, 'from-us'), 'us');
    const put = await runCli(['put', ...ours(), join(dir, 'from-us')], env);
    assert.equal(put.code, 0, put.stderr);
    const ref = put.stdout.toString().trim();
    await startPerkeepd();
    const out = join(dir, 'pk-out');
    await mkdir(out);
    await runTool(bins.get!, ['-o', out, ref], await pkEnv(join(dir, 'pk-get')));
    await assertSameTree(join(out, 'from-us'), files);
    // Our put packed perkeepd's one-entry meta blobs and its own into one, which perkeepd
    // reads at start like its own: what pk-put wrote still comes back.
    const metas = [];
    for await (const b of new BlobServerClient({ server: metaUrl, auth: USERPASS }).enumerate()) metas.push(b);
    assert.equal(metas.length, 1);
    const again = join(dir, 'pk-out-2');
    await mkdir(again);
    await runTool(bins.get!, ['-o', again, perkeepRef], await pkEnv(join(dir, 'pk-get-2')));
    await assertSameTree(join(again, 'from-perkeep'), perkeepFiles);
  });
});
