import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { authorizationHeader } from '../../client/http-client.js';
import { perkeepConfigPath, resolveServer } from '../../client/node/config.js';
import { formatProgress } from '../../client/progress.js';

describe('blobserver CLI settings', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'client-config-'));
    await writeFile(
      join(dir, 'client-config.json'),
      JSON.stringify({
        servers: { home: { server: 'http://127.0.0.1:1', auth: 'userpass:a:b' }, work: { server: 'blobs.example', auth: 'userpass:c:d', default: true } },
      }),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('flags, then BLOBSERVER_URL/AUTH, then the default server of client-config.json', () => {
    const env = { CAMLI_CONFIG_DIR: dir };
    assert.deepEqual(resolveServer({ server: 'http://x:1', auth: 'none' }, env), { server: 'http://x:1', auth: 'none', source: '--server' });
    assert.deepEqual(resolveServer({}, { ...env, BLOBSERVER_URL: 'http://y:2', BLOBSERVER_AUTH: 'userpass:u:p' }), {
      server: 'http://y:2',
      auth: 'userpass:u:p',
      source: 'BLOBSERVER_URL',
    });
    assert.deepEqual(resolveServer({}, env), { server: 'https://blobs.example', auth: 'userpass:c:d', source: join(dir, 'client-config.json') });
    assert.equal(resolveServer({ server: 'home' }, env).server, 'http://127.0.0.1:1');
    assert.equal(resolveServer({ auth: 'userpass:z:z' }, env).auth, 'userpass:z:z');
  });

  it('says what is missing', () => {
    assert.throws(() => resolveServer({}, { CAMLI_CONFIG_DIR: join(dir, 'nope') }), /no --server, no BLOBSERVER_URL and no .*nope\/client-config.json/);
    assert.throws(() => resolveServer({ server: 'office' }, { CAMLI_CONFIG_DIR: dir }), /no server named "office"/);
  });

  it("finds Perkeep's config where Perkeep does", () => {
    assert.equal(perkeepConfigPath({ CAMLI_CONFIG_DIR: '/c' }), '/c/client-config.json');
    assert.equal(perkeepConfigPath({ XDG_CONFIG_HOME: '/x' }), '/x/perkeep/client-config.json');
  });

  it('userpass credentials become HTTP Basic; passwords may contain colons', () => {
    assert.equal(authorizationHeader('userpass:alice:pa:ss'), 'Basic ' + Buffer.from('alice:pa:ss').toString('base64'));
    assert.equal(authorizationHeader('none'), undefined);
    assert.throws(() => authorizationHeader('token:abc'), /unsupported auth "token"/);
    assert.throws(() => authorizationHeader('userpass:alice'), /^BlobServerError: auth "userpass:alice" has no password: use userpass:USER:PASSWORD or none$/);
  });

  it('progress line: read, sent and stored apart; rate and ETA from what was sent, none before anything was', () => {
    const s = { blobsDone: 3, blobsSeen: 10, bytesRead: 12e6, totalBytes: 20e6, bytesSent: 4e6, bytesStored: 3e6, bytesSkipped: 1e6 };
    assert.equal(formatProgress(s, 2000), 'blobs 3/10, read 12.0 MB of 20.0 MB, sent 4.0 MB, stored 3.0 MB, 2.5 MB/s, ETA 6 s');
    // Everything read and hashed, nothing sent yet: no "ETA 0 s".
    assert.equal(
      formatProgress({ ...s, blobsDone: 0, bytesRead: 20e6, bytesSent: 0, bytesStored: 0, bytesSkipped: 0 }, 2000),
      'blobs 0/10, read 20.0 MB of 20.0 MB, sent 0.0 MB, stored 0.0 MB, 0.0 MB/s',
    );
  });
});
