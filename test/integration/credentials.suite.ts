import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertJsonError, request, type Reply } from '../support/http.js';
import { postFormRedirected } from '../support/upload-form.js';
import { blobForm, newBlob, parts, preupload, preuploadRaw, uploadParts, type Blob } from './seed.suite.js';

/**
 * Scoped credentials (docs/security.md) over real HTTP: what each operation allows and refuses,
 * namespace by namespace, expiry, revocation within the bound (upload and completion URLs
 * included) and the admin API. One target: a local server on an emulator lane (with or without
 * the permission lane's roles), or the deployed-artifact lane's functions.
 */
export interface CredentialsTarget {
  url: string;
  /** The owner's Authorization header (admin over everything). */
  ownerAuth: string;
  /** The revocation bound the server runs with (BLOBSERVER_CREDENTIAL_CACHE_SECONDS). */
  boundSeconds: number;
  /**
   * Another instance on the same storage with its own credential cache (a second warm function),
   * where revocation is measured: the instance that revokes drops the row from its own cache at
   * once, any other one only when its cached row reaches the bound.
   */
  otherInstance?: string | undefined;
  /** Whether the server allows removal at all (BLOBSERVER_ALLOW_REMOVE; a deployment's default is off). */
  allowRemove: boolean;
  close(): Promise<void>;
}

export interface Issued {
  id: string;
  secret: string;
  auth: string;
  /** The Authorization header. */
  header: string;
}

const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds a credential through the admin API as `admin` (the owner by default). */
export async function addCredential(
  url: string,
  admin: string,
  body: { label: string; namespaces: string[]; operations: string[]; expiresAt?: string },
): Promise<Issued> {
  const r = await request<Issued & { errorText?: string }>(`${url}/admin/credentials`, {
    method: 'POST',
    auth: admin,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 201, r.text);
  return { ...r.json!, header: basic(r.json!.id, r.json!.secret) };
}

export function defineCredentialsSuite(name: string, unavailable: string | undefined, start: () => Promise<CredentialsTarget>): void {
  describe(`scoped credentials [${name}]`, unavailable ? { skip: unavailable } : {}, () => {
    let t: CredentialsTarget;
    before(async () => {
      if (!unavailable) t = await start();
    });
    after(async () => {
      await t?.close();
    });

    const at = (ns: string) => (ns ? `${t.url}/${ns}` : t.url);
    const storeAs = async (auth: string, ns: string, ...blobs: Blob[]) => {
      const { uploadUrl } = await preupload({ url: at(ns), authorization: auth });
      const a = await uploadParts(uploadUrl, parts(blobs));
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(
        a.json.received.map((r) => r.blobRef),
        blobs.map((b) => b.ref),
      );
    };
    const get = (auth: string, ns: string, ref: string) => request(`${at(ns)}/camli/${ref}`, { auth });
    const stat = (auth: string, ns: string, refs: string[]) => request<{ stat: { blobRef: string }[] }>(`${at(ns)}/camli/stat?${blobForm(refs)}`, { auth });
    const enumerate = (auth: string, ns: string) => request(`${at(ns)}/camli/enumerate-blobs`, { auth });
    const locate = (auth: string, ns: string, refs: string[]) =>
      request(`${at(ns)}/camli/locate`, { method: 'POST', auth, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: blobForm(refs) });
    const remove = (auth: string, ns: string, refs: string[]) =>
      request<{ removed: string[] }>(`${at(ns)}/camli/remove`, {
        method: 'POST',
        auth,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: blobForm(refs, {}),
      });
    /** A 403 naming the permission and the credential, never its secret. */
    const refusedFor = (r: Reply<unknown>, permission: RegExp, cred: Issued) => {
      assertJsonError(r, 403, permission);
      assert.match((r.json as { errorText: string }).errorText, new RegExp(cred.id));
      assert.ok(!r.text.includes(cred.secret), 'the secret is never in an answer');
      assert.equal((r.json as { code: string }).code, 'permission_missing');
    };

    it('a read-only credential reads but cannot upload (preupload, batch upload)', async () => {
      const blob = newBlob();
      await storeAs(t.ownerAuth, 'cr-read', blob);
      const reader = await addCredential(t.url, t.ownerAuth, { label: 'viewer', namespaces: ['cr-read'], operations: ['read'] });
      const got = await get(reader.header, 'cr-read', blob.ref);
      assert.equal(got.status, 200, got.text);
      assert.ok(got.bytes.equals(blob.data));
      assert.equal((await stat(reader.header, 'cr-read', [blob.ref])).json!.stat.length, 1);
      assert.equal((await enumerate(reader.header, 'cr-read')).status, 200);
      assert.equal((await locate(reader.header, 'cr-read', [blob.ref])).status, 200);
      refusedFor(await preuploadRaw(at('cr-read'), blobForm([newBlob().ref]), reader.header), /lacks the write permission in namespace cr-read/, reader);
      const other = newBlob();
      const { body, contentType } = (await import('../support/test-server.js')).multipartBody(parts([other]));
      const batch = await request(`${at('cr-read')}/camli/upload`, { method: 'POST', auth: reader.header, headers: { 'content-type': contentType }, body });
      refusedFor(batch, /write/, reader);
      assert.equal((await stat(t.ownerAuth, 'cr-read', [other.ref])).json!.stat.length, 0, 'nothing stored');
    });

    it('an upload-only credential uploads (URL and form) and stats, but cannot get, enumerate or locate', async () => {
      const phone = await addCredential(t.url, t.ownerAuth, { label: 'phone', namespaces: ['cr-phone'], operations: ['write'] });
      const blob = newBlob();
      await storeAs(phone.header, 'cr-phone', blob);
      const large = newBlob(200_000);
      const { uploadForm } = await preupload({ url: at('cr-phone'), authorization: phone.header });
      const done = await request<{ received: { blobRef: string }[] }>(await postFormRedirected(uploadForm, large.data, large.ref));
      assert.equal(done.status, 200, done.text);
      assert.deepEqual((await stat(phone.header, 'cr-phone', [blob.ref, large.ref])).json!.stat.map((s) => s.blobRef).sort(), [blob.ref, large.ref].sort());
      refusedFor(await get(phone.header, 'cr-phone', blob.ref), /lacks the read permission/, phone);
      refusedFor(await enumerate(phone.header, 'cr-phone'), /lacks the read permission/, phone);
      refusedFor(await locate(phone.header, 'cr-phone', [blob.ref]), /lacks the read permission/, phone);
      const head = await request(`${at('cr-phone')}/camli/${blob.ref}`, { method: 'HEAD', auth: phone.header });
      assert.equal(head.status, 403);
    });

    it('remove needs its own permission', async () => {
      const blob = newBlob();
      await storeAs(t.ownerAuth, 'cr-rm', blob);
      const rw = await addCredential(t.url, t.ownerAuth, { label: 'rw', namespaces: ['cr-rm'], operations: ['read', 'write'] });
      refusedFor(await remove(rw.header, 'cr-rm', [blob.ref]), /lacks the remove permission in namespace cr-rm/, rw);
      assert.equal((await get(t.ownerAuth, 'cr-rm', blob.ref)).status, 200, 'still there');
      const remover = await addCredential(t.url, t.ownerAuth, { label: 'janitor', namespaces: ['cr-rm'], operations: ['remove'] });
      const r = await remove(remover.header, 'cr-rm', [blob.ref]);
      if (!t.allowRemove) {
        // The permission is granted; the server's own switch still says no.
        assertJsonError(r, 403, /removal is disabled/);
        return;
      }
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json!.removed, [blob.ref]);
      assert.equal((await get(t.ownerAuth, 'cr-rm', blob.ref)).status, 404);
    });

    it("namespace A's credential cannot stat or get B's blob, even with identical bytes, nor the root's", async () => {
      const blob = newBlob();
      await storeAs(t.ownerAuth, 'cr-a', blob);
      await storeAs(t.ownerAuth, 'cr-b', blob);
      await storeAs(t.ownerAuth, '', blob);
      const a = await addCredential(t.url, t.ownerAuth, { label: 'project a', namespaces: ['cr-a'], operations: ['read', 'write'] });
      assert.equal((await get(a.header, 'cr-a', blob.ref)).status, 200);
      refusedFor(await get(a.header, 'cr-b', blob.ref), /in namespace cr-b/, a);
      refusedFor(await stat(a.header, 'cr-b', [blob.ref]), /lacks the read or write permission in namespace cr-b/, a);
      refusedFor(await get(a.header, '', blob.ref), /in the root namespace/, a);
      refusedFor(await preuploadRaw(at('cr-b'), blobForm([blob.ref]), a.header), /in namespace cr-b/, a);
      // Its upload URL opens its own namespace only (the URL is signed for it).
      const { uploadUrl } = await preupload({ url: at('cr-a'), authorization: a.header });
      const elsewhere = await uploadParts(uploadUrl.replace('/cr-a/', '/cr-b/'), parts([newBlob()]));
      assert.equal(elsewhere.status, 403, elsewhere.text);
      // The root namespace is granted as `/`, and `*` is every namespace.
      const root = await addCredential(t.url, t.ownerAuth, { label: 'root reader', namespaces: ['/'], operations: ['read'] });
      assert.equal((await get(root.header, '', blob.ref)).status, 200);
      refusedFor(await get(root.header, 'cr-a', blob.ref), /in namespace cr-a/, root);
      const all = await addCredential(t.url, t.ownerAuth, { label: 'everywhere', namespaces: ['*'], operations: ['read'] });
      for (const ns of ['', 'cr-a', 'cr-b']) assert.equal((await get(all.header, ns, blob.ref)).status, 200);
    });

    it('an expired credential is refused (401, saying so), and so is a wrong secret or an unknown id', async () => {
      const soon = new Date(Date.now() + 5000).toISOString();
      const temp = await addCredential(t.url, t.ownerAuth, { label: 'temp', namespaces: ['cr-exp'], operations: ['write'] });
      const brief = await addCredential(t.url, t.ownerAuth, { label: 'brief', namespaces: ['cr-exp'], operations: ['write'], expiresAt: soon });
      assert.equal((await preuploadRaw(at('cr-exp'), blobForm([]), brief.header)).status, 200);
      const { uploadUrl } = await preupload({ url: at('cr-exp'), authorization: brief.header });
      await sleep(Math.max(0, Date.parse(soon) - Date.now()) + 1100);
      const refused = await preuploadRaw(at('cr-exp'), blobForm([]), brief.header);
      assertJsonError(refused, 401, new RegExp(`credential ${brief.id} is expired`));
      const url = await uploadParts(uploadUrl, parts([newBlob()]));
      assertJsonError(url, 403, /expired/);
      assertJsonError(await preuploadRaw(at('cr-exp'), blobForm([]), basic(temp.id, 'not-the-secret')), 401, /^invalid credentials$/);
      assertJsonError(await preuploadRaw(at('cr-exp'), blobForm([]), basic('cred-00000000000000000000', temp.secret)), 401, /^invalid credentials$/);
    });

    it('revocation holds within the bound, for the credential and its outstanding upload and completion URLs', async () => {
      const phone = await addCredential(t.url, t.ownerAuth, { label: 'lost phone', namespaces: ['cr-rev'], operations: ['read', 'write'] });
      const blob = newBlob();
      const large = newBlob(200_000);
      const base = t.otherInstance ?? t.url;
      const there = `${base}/cr-rev`;
      const answer = await preupload({ url: there, authorization: phone.header });
      // Cached as usable on every side of that instance before the revoke: the worst case.
      const warm = await uploadParts((await preupload({ url: there, authorization: phone.header })).uploadUrl, parts([newBlob()]));
      assert.equal(warm.status, 200, warm.text);
      assert.equal((await request(`${there}/camli/stat?${blobForm([])}`, { auth: phone.header })).status, 200);
      const completion = await postFormRedirected(answer.uploadForm, large.data, large.ref);
      const revoked = await request<{ revokedAt: string }>(`${t.url}/admin/credentials/${phone.id}/revoke`, { method: 'POST', auth: t.ownerAuth });
      assert.equal(revoked.status, 200, revoked.text);
      const revokedAt = Date.now();
      // Poll every 100 ms until all four are refused; each must be refused within the bound.
      const refusedAt: Record<string, number> = {};
      const checks: Record<string, () => Promise<boolean>> = {
        preupload: async () => (await preuploadRaw(there, blobForm([]), phone.header)).status === 401,
        stat: async () => (await request(`${there}/camli/stat?${blobForm([blob.ref])}`, { auth: phone.header })).status === 401,
        uploadUrl: async () => (await uploadParts(answer.uploadUrl, parts([blob]))).status === 403,
        completion: async () => (await request(completion)).status === 403,
      };
      while (Object.keys(refusedAt).length < Object.keys(checks).length && Date.now() - revokedAt < (t.boundSeconds + 2) * 1000) {
        for (const [k, check] of Object.entries(checks)) if (refusedAt[k] === undefined && (await check())) refusedAt[k] = Date.now() - revokedAt;
        await sleep(100);
      }
      console.log(
        `revocation of ${phone.id}: refused after (ms) ${JSON.stringify(refusedAt)}; bound ${t.boundSeconds} s, measured on ${t.otherInstance ? 'another instance' : 'the functions (the read side is not the one that revoked)'}`,
      );
      for (const k of Object.keys(checks)) {
        assert.ok(refusedAt[k] !== undefined && refusedAt[k] <= t.boundSeconds * 1000 + 500, `${k} refused within the bound: ${refusedAt[k]} ms`);
      }
      // Within the bound the URLs still worked (that is the bound); past it they store nothing.
      const late = newBlob();
      assert.equal((await uploadParts(answer.uploadUrl, parts([late]))).status, 403);
      assert.equal((await stat(t.ownerAuth, 'cr-rev', [late.ref])).json!.stat.length, 0, 'nothing stored through a revoked URL');
      const listed = await request<{ credentials: { id: string; revokedAt?: string }[] }>(`${t.url}/admin/credentials`, { auth: t.ownerAuth });
      assert.ok(listed.json!.credentials.find((c) => c.id === phone.id)?.revokedAt);
    });

    it('admin operations need admin; the list shows scopes, never secrets or hashes', async () => {
      const writer = await addCredential(t.url, t.ownerAuth, { label: 'writer', namespaces: ['*'], operations: ['read', 'write', 'remove'] });
      refusedFor(await request(`${t.url}/admin/credentials`, { auth: writer.header }), /lacks the admin permission on this deployment/, writer);
      const add = await request(`${t.url}/admin/credentials`, {
        method: 'POST',
        auth: writer.header,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'x', namespaces: ['*'], operations: ['admin'] }),
      });
      refusedFor(add, /admin/, writer);
      refusedFor(await request(`${t.url}/admin/credentials/${writer.id}/revoke`, { method: 'POST', auth: writer.header }), /admin/, writer);
      const admin = await addCredential(t.url, t.ownerAuth, { label: 'deputy', namespaces: ['*'], operations: ['admin'] });
      const deputyMade = await addCredential(t.url, admin.header, { label: 'made by deputy', namespaces: ['cr-x'], operations: ['read'] });
      const list = await request<{ credentials: Record<string, unknown>[] }>(`${t.url}/admin/credentials`, { auth: admin.header });
      assert.equal(list.status, 200, list.text);
      const shown = list.json!.credentials.find((c) => c['id'] === deputyMade.id)!;
      assert.deepEqual(shown['namespaces'], ['cr-x']);
      assert.deepEqual(shown['operations'], ['read']);
      assert.equal(shown['label'], 'made by deputy');
      assert.ok(!list.text.includes(deputyMade.secret) && !list.text.includes(writer.secret));
      assert.doesNotMatch(list.text, /scrypt|"hash"|"secret"/);
      // A bad request says what is wrong; admin is only ever over every namespace.
      const bad = await request(`${t.url}/admin/credentials`, {
        method: 'POST',
        auth: t.ownerAuth,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'x', namespaces: ['cr-x'], operations: ['admin'] }),
      });
      assertJsonError(bad, 400, /admin is over every namespace/);
      assertJsonError(await request(`${t.url}/admin/credentials/cred-00000000000000000000/revoke`, { method: 'POST', auth: t.ownerAuth }), 404);
    });

    it('a caller learns its own scope at /camli/credential', async () => {
      const phone = await addCredential(t.url, t.ownerAuth, { label: 'phone', namespaces: ['cr-me'], operations: ['write'] });
      const me = await request<{ id: string; label: string; here: string[]; namespaces: string[] }>(`${at('cr-me')}/camli/credential`, { auth: phone.header });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json!.id, phone.id);
      assert.equal(me.json!.label, 'phone');
      assert.deepEqual(me.json!.here, ['write']);
      const owner = await request<{ id: string; here: string[] }>(`${t.url}/camli/credential`, { auth: t.ownerAuth });
      assert.deepEqual(owner.json!.here, ['read', 'write', 'remove', 'admin']);
      assert.equal((await request(`${t.url}/camli/credential`, { auth: phone.header })).status, 403, 'nothing in the root namespace');
    });
  });
}
