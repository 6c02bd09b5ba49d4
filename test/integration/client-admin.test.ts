import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { lane, PASSWORD, startTestServer, USER, type TestServer } from '../support/test-server.js';

/**
 * `blobserver admin credentials add|list|revoke` against a local server, as against a deployment:
 * over the admin API with an admin credential. `add` prints the secret once; the credential it
 * made works at once with its scope, and is refused once revoked.
 */
describe('blobserver admin credentials', () => {
  let ts: TestServer;
  let dir: string;
  before(async () => {
    ts = await startTestServer(lane('dynalite+s3rver').factory, { BLOBSERVER_CREDENTIAL_CACHE_SECONDS: '1' });
    dir = await mkdtemp(join(tmpdir(), 'admin-cli-'));
  });
  after(async () => {
    await ts?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const owner = () => ({ BLOBSERVER_URL: ts.url, BLOBSERVER_AUTH: `userpass:${USER}:${PASSWORD}` });

  it('adds a write-only credential (secret printed once), lists it without secrets, and revokes it', async () => {
    const add = await runCli(
      ['admin', 'credentials', 'add', '--label', "alice's phone", '--namespaces', 'photos', '--ops', 'write', '--expires', '30d'],
      owner(),
    );
    assert.equal(add.code, 0, add.stderr);
    const out = add.stdout.toString();
    const auth = /^auth: {3}(userpass:(cred-[0-9a-f]{20}):(\S+))$/m.exec(out);
    assert.ok(auth, out);
    const [, userpass, id, secret] = auth;
    assert.match(out, /secret: /);
    assert.match(out, /namespaces=photos {2}ops=write {2}expires 20/);

    // The new credential: uploads to its namespace, cannot list it, reaches nothing else.
    const file = join(dir, 'note.txt');
    await writeFile(file, 'from the phone');
    const put = await runCli(['put', '--blob', file], { BLOBSERVER_URL: `${ts.url}/photos`, BLOBSERVER_AUTH: userpass });
    assert.equal(put.code, 0, put.stderr);
    const ls = await runCli(['ls'], { BLOBSERVER_URL: `${ts.url}/photos`, BLOBSERVER_AUTH: userpass });
    assert.equal(ls.code, 1);
    assert.match(ls.stderr, /lacks the read permission in namespace photos/);
    assert.ok(!ls.stderr.includes(secret!));

    const list = await runCli(['admin', 'credentials', 'list', '--json'], owner());
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout.toString()) as {
      credentials: { id: string; label: string; namespaces: string[]; operations: string[]; expiresAt?: string }[];
    };
    const mine = listed.credentials.find((c) => c.id === id)!;
    assert.deepEqual([mine.label, mine.namespaces, mine.operations], ["alice's phone", ['photos'], ['write']]);
    assert.ok(mine.expiresAt);
    assert.ok(!list.stdout.toString().includes(secret!), 'list never shows a secret');

    // Not an admin: the phone cannot list or make credentials.
    const denied = await runCli(['admin', 'credentials', 'list'], { BLOBSERVER_URL: ts.url, BLOBSERVER_AUTH: userpass });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /HTTP 403: credential cred-[0-9a-f]{20} lacks the admin permission/);

    const revoke = await runCli(['admin', 'credentials', 'revoke', id!], owner());
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout.toString(), new RegExp(`^${id} .* revoked 20`));
    await new Promise((r) => setTimeout(r, 1100)); // the server's bound here (BLOBSERVER_CREDENTIAL_CACHE_SECONDS=1)
    const after = await runCli(['put', '--blob', file], { BLOBSERVER_URL: `${ts.url}/photos`, BLOBSERVER_AUTH: userpass });
    assert.equal(after.code, 1);
    assert.match(after.stderr, new RegExp(`credential ${id} is revoked`));
  });

  it('says what is wrong with a command line, and with a scope the server refuses', async () => {
    const noOps = await runCli(['admin', 'credentials', 'add', '--label', 'x', '--namespaces', 'a'], owner());
    assert.equal(noOps.code, 2);
    assert.match(noOps.stderr, /needs --ops/);
    const badExpiry = await runCli(['admin', 'credentials', 'add', '--label', 'x', '--namespaces', 'a', '--ops', 'read', '--expires', 'soon'], owner());
    assert.equal(badExpiry.code, 2);
    assert.match(badExpiry.stderr, /--expires must be/);
    const adminInOne = await runCli(['admin', 'credentials', 'add', '--label', 'x', '--namespaces', 'a', '--ops', 'admin'], owner());
    assert.equal(adminInOne.code, 1);
    assert.match(adminInOne.stderr, /HTTP 400: operations: admin is over every namespace/);
    const unknown = await runCli(['admin', 'credentials', 'revoke', 'cred-00000000000000000000'], owner());
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /HTTP 404/);
  });
});
