import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { namedNamespace, ROOT_NAMESPACE } from '../../lambda/core/namespace.js';
import type { DiscoveryDoc } from '../support/discovery.js';
import { jsonReplyOf, request } from '../support/http.js';
import { awsClientsFor } from '../support/storage.js';
import { basicAuth, startTestServer, type Lane, type TestServer } from '../support/test-server.js';
import { postFormRedirected, stagedKeyOf } from '../support/upload-form.js';
import { blobForm, newBlob, parts, preupload, uploadParts, type Blob } from './seed.suite.js';

/**
 * Namespaces (DESIGN §12) over real HTTP on every emulator lane: two namespaces and the root of
 * one server are independent blob roots. Identical bytes stored in one are missing in the
 * others (stat, GET, enumerate, locate), a remove in one leaves the others, a signed URL minted
 * for one stores nothing in another, and a namespace's rows and objects sit apart from the
 * root's, whose layout is unchanged.
 */

export function defineNamespaceSuite(lane: Lane): void {
  const unavailable = lane.unavailable();
  describe(`namespaces [${lane.name}]`, unavailable ? { skip: unavailable } : {}, () => {
    let ts: TestServer;
    const auth = basicAuth();
    before(async () => {
      if (!unavailable) ts = await startTestServer(lane.factory, { BLOBSERVER_ALLOW_REMOVE: 'true' });
    });
    after(async () => {
      await ts?.close();
    });

    /** The target of one namespace ('' for the root): what seed.suite.ts's helpers take. */
    const at = (ns: string) => ({ url: ns ? `${ts.url}/${ns}` : ts.url, authorization: auth });
    const storeIn = async (ns: string, ...blobs: Blob[]) => {
      const { uploadUrl } = await preupload(at(ns));
      const a = await uploadParts(uploadUrl, parts(blobs));
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(
        a.json.received.map((r) => r.blobRef),
        blobs.map((b) => b.ref),
      );
      return uploadUrl;
    };
    const statIn = async (ns: string, refs: string[]) => {
      const r = await request<{ stat: { blobRef: string }[] }>(`${at(ns).url}/camli/stat?${blobForm(refs)}`, { auth });
      assert.equal(r.status, 200, r.text);
      return r.json!.stat.map((s) => s.blobRef).sort();
    };
    const getIn = async (ns: string, ref: string) => request(`${at(ns).url}/camli/${ref}`, { auth });
    const enumerateIn = async (ns: string) => {
      const r = await request<{ blobs: { blobRef: string }[] }>(`${at(ns).url}/camli/enumerate-blobs?limit=10000`, { auth });
      assert.equal(r.status, 200, r.text);
      return r.json!.blobs.map((b) => b.blobRef);
    };
    const removeIn = async (ns: string, refs: string[]) => {
      const r = await request<{ removed: string[] }>(`${at(ns).url}/camli/remove`, {
        method: 'POST',
        auth,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: refs.map((ref, i) => `blob${i + 1}=${ref}`).join('&'),
      });
      assert.equal(r.status, 200, r.text);
      return r.json!.removed;
    };

    it('each namespace has its own discovery: blob root, locate root and storage generation', async () => {
      const docs = new Map<string, DiscoveryDoc>();
      // `/<name>/` is how Perkeep's client asks when given a server URL with a path; `/<name>` too.
      for (const path of ['/', '/alpha/', '/alpha', '/beta/']) {
        const r = await request<DiscoveryDoc>(`${ts.url}${path}?camli.mode=config`, { auth });
        assert.equal(r.status, 200, `${path}: ${r.text}`);
        docs.set(path, r.json!);
      }
      assert.equal(docs.get('/')!.blobRoot, '/');
      assert.equal(docs.get('/alpha/')!.blobRoot, '/alpha/');
      assert.equal(docs.get('/alpha')!.blobRoot, '/alpha/');
      assert.equal(docs.get('/alpha/')!.locateBlobsRoot, '/alpha/camli/locate');
      assert.equal(docs.get('/alpha/')!.statusRoot, '/alpha/status/');
      const generations = ['/', '/alpha/', '/beta/'].map((p) => docs.get(p)!.storageGeneration);
      assert.ok(generations.every((g) => typeof g === 'string' && g.length > 0));
      assert.equal(new Set(generations).size, 3, 'a generation per namespace');
      assert.equal(docs.get('/alpha')!.storageGeneration, docs.get('/alpha/')!.storageGeneration, 'and stable');
      const status = await request(`${ts.url}/alpha/status/status.json`, { auth });
      assert.equal(status.status, 200, status.text);
      // The page at /<name>/ui takes its server (the namespace's root) from its own path.
      const page = await request(`${ts.url}/alpha/ui`, { auth });
      assert.equal(page.status, 200, page.text.slice(0, 200));
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    });

    it('identical bytes stored in one namespace are missing in the others, and a remove in one leaves the others', async () => {
      const blob = newBlob(100);
      await storeIn('alpha', blob);
      assert.deepEqual(await statIn('alpha', [blob.ref]), [blob.ref]);
      for (const ns of ['beta', '']) {
        assert.deepEqual(await statIn(ns, [blob.ref]), [], `stat in ${ns || 'root'}`);
        assert.equal((await getIn(ns, blob.ref)).status, 404, `GET in ${ns || 'root'}`);
        const pre = await preupload(at(ns), [blob.ref]);
        assert.deepEqual(pre.alreadyHave, [], `preupload in ${ns || 'root'}`);
      }
      // The same bytes in beta and the root are stored there afresh, each its own.
      await storeIn('beta', blob);
      await storeIn('', blob);
      assert.deepEqual(await removeIn('alpha', [blob.ref]), [blob.ref]);
      assert.deepEqual(await statIn('alpha', [blob.ref]), []);
      assert.equal((await getIn('alpha', blob.ref)).status, 404);
      for (const ns of ['beta', '']) {
        const got = await getIn(ns, blob.ref);
        assert.equal(got.status, 200, `GET in ${ns || 'root'} after alpha's remove`);
        assert.ok(got.bytes.equals(blob.data));
        assert.deepEqual(await statIn(ns, [blob.ref]), [blob.ref]);
      }
      // Removing it where it never was (answered as removed, as Perkeep does) removes nothing elsewhere.
      await removeIn('gamma', [blob.ref]);
      assert.equal((await getIn('beta', blob.ref)).status, 200);
      assert.equal((await getIn('', blob.ref)).status, 200);
    });

    it('enumerate and locate see only their own namespace', async () => {
      const mine = [newBlob(40), newBlob(41), newBlob(42)];
      const theirs = [newBlob(43), newBlob(44)];
      await storeIn('enum-a', ...mine);
      await storeIn('enum-b', ...theirs);
      assert.deepEqual(await enumerateIn('enum-a'), mine.map((b) => b.ref).sort());
      assert.deepEqual(await enumerateIn('enum-b'), theirs.map((b) => b.ref).sort());
      const root = await enumerateIn('');
      for (const b of [...mine, ...theirs]) assert.ok(!root.includes(b.ref), 'the root lists no namespace blob');
      const located = await jsonReplyOf<{ missing: string[]; inline: { blobRef: string }[]; ranges: unknown[] }>(
        await fetch(`${ts.url}/enum-b/camli/locate`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: blobForm([mine[0]!.ref, theirs[0]!.ref]),
        }),
      );
      assert.equal(located.status, 200, located.text);
      assert.deepEqual(located.json.missing, [mine[0]!.ref]);
      assert.deepEqual(
        located.json.inline.map((b) => b.blobRef),
        [theirs[0]!.ref],
      );
    });

    it('an upload URL minted for one namespace stores nothing in another (or the root), and the reverse', async () => {
      const blob = newBlob(70);
      const { uploadUrl } = await preupload(at('url-a'));
      assert.ok(uploadUrl.startsWith(`${ts.url}/url-a/camli/upload/`), uploadUrl);
      const token = uploadUrl.split('/').pop()!;
      const { uploadUrl: rootUrl } = await preupload(at(''));
      const rootToken = rootUrl.split('/').pop()!;
      for (const url of [`${ts.url}/url-b/camli/upload/${token}`, `${ts.url}/camli/upload/${token}`, `${ts.url}/url-a/camli/upload/${rootToken}`]) {
        const a = await uploadParts(url, parts([blob]));
        assert.equal(a.status, 403, `${url}: ${a.text}`);
        assert.match(String((a.json as { errorText?: string }).errorText), /not valid/);
      }
      for (const ns of ['url-a', 'url-b', '']) assert.deepEqual(await statIn(ns, [blob.ref]), [], ns);
      // Where it was minted, it works.
      const ok = await uploadParts(uploadUrl, parts([blob]));
      assert.equal(ok.status, 200, ok.text);
      assert.ok(ok.json.uploadUrl.startsWith(`${ts.url}/url-a/camli/upload/`), 'the next URL is the same namespace');
      assert.deepEqual(await statIn('url-a', [blob.ref]), [blob.ref]);
      assert.deepEqual(await statIn('url-b', [blob.ref]), []);
    });

    it('a large blob through the upload form lands in its namespace only; the completion URL is refused elsewhere', async () => {
      const blob = newBlob(300_000);
      const { uploadForm } = await preupload(at('form-a'));
      const location = await postFormRedirected(uploadForm, blob.data, blob.ref);
      assert.ok(location.startsWith(`${ts.url}/form-a/camli/upload-complete/`), location);
      const elsewhere = location.replace('/form-a/', '/form-b/');
      const refused = await request(elsewhere, {});
      assert.equal(refused.status, 403, refused.text);
      assert.deepEqual(await statIn('form-b', [blob.ref]), []);
      const done = await request<{ received: { blobRef: string }[] }>(location, {});
      assert.equal(done.status, 200, done.text);
      assert.deepEqual(
        done.json!.received.map((r) => r.blobRef),
        [blob.ref],
      );
      assert.deepEqual(await statIn('form-a', [blob.ref]), [blob.ref]);
      assert.deepEqual(await statIn('form-b', [blob.ref]), []);
      assert.deepEqual(await statIn('', [blob.ref]), []);
      const got = await getIn('form-a', blob.ref);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(blob.data));
      assert.equal(await ts.storage.sizeAt(stagedKeyOf(location)), undefined, 'the staged upload is gone');
    });

    it("keeps a namespace's rows and objects apart from the root's, whose layout is unchanged", async () => {
      const blob = newBlob(80);
      await storeIn('layout', blob);
      await storeIn('', newBlob(81));
      const { config, ddb } = awsClientsFor(ts.backend.env);
      try {
        const rootRow = (await new DynamoBlobIndex(ddb, config.tableName, undefined, ROOT_NAMESPACE).get([blob.ref])).get(blob.ref);
        assert.equal(rootRow, undefined, 'no row in the root namespace');
        const row = (await new DynamoBlobIndex(ddb, config.tableName, undefined, namedNamespace('layout')).get([blob.ref])).get(blob.ref);
        assert.ok(row, 'a row in its namespace');
        assert.ok(row.key.startsWith('blobs/'), `a row names its key as the root does: ${row.key}`);
        assert.ok((await ts.storage.keysUnder(`ns/layout/${row.key}`)).length === 1, 'its object is under ns/layout/');
        assert.deepEqual(await ts.storage.keysUnder(`blobs/${blob.ref}`), [], 'nothing under the root blobs/');
        assert.equal(await ts.storage.row(blob.ref), undefined);
      } finally {
        ddb.destroy();
      }
    });

    it('refuses a name that cannot be a namespace with a 400 and a JSON errorText, before anything else', async () => {
      for (const path of [
        '/Alpha/camli/stat',
        '/a_b/camli/stat',
        '/-a/',
        '/camli/camli/stat',
        '/ui/camli/stat',
        '/status/',
        '/ns/camli/enumerate-blobs',
        `/${'a'.repeat(64)}/`,
      ]) {
        const r = await request(`${ts.url}${path}`, { auth });
        assert.equal(r.status, 400, `${path}: ${r.text}`);
        assert.match(String((r.json as { errorText?: string } | undefined)?.errorText), /namespace/, path);
      }
      // Deeper than a namespace's root, under the greedy discovery route: no such endpoint.
      const deep = await request(`${ts.url}/alpha/no/such/thing`, { auth });
      assert.equal(deep.status, 404, deep.text);
      // A namespace route still needs the credentials.
      const anonymous = await request(`${ts.url}/alpha/camli/enumerate-blobs`, {});
      assert.equal(anonymous.status, 401, anonymous.text);
    });
  });
}
