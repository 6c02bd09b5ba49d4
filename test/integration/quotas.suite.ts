import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertJsonError, jsonReplyOf, request } from '../support/http.js';
import type { Target, TargetSpec } from '../support/target.js';
import { multipartBody } from '../support/test-server.js';
import { postFormRedirected } from '../support/upload-form.js';
import { blobForm, newBlob, parts, preupload, preuploadRaw, uploadParts, uploadRaw, type Blob } from './seed.suite.js';

/**
 * Quotas and usage per namespace (issue 27) over real HTTP, on any target: the emulator lanes,
 * the permission lane (every AWS call checked against the synthesized roles) and the
 * deployed-artifact lane (the cdk synth bundles in the Lambda RIE). Every test has a namespace of
 * its own, so its usage starts at zero. What a test checks against is the namespace's true
 * content: the sizes `enumerate-blobs` lists.
 */

interface UsageLine {
  namespace: string;
  bytes: number;
  blobs: number;
  maxBytes?: number;
  maxBlobs?: number;
}

export function defineQuotaSuite(spec: TargetSpec): void {
  const skip = spec.unavailable ? { skip: spec.unavailable } : {};
  const needs = (cap: 'siblings') => (spec.unavailable ? skip : spec.capabilities.includes(cap) ? {} : { skip: `target ${spec.name} lacks: ${cap}` });

  describe(`quotas and usage per namespace [${spec.name}]`, () => {
    let target: Target;
    before(async () => {
      if (!spec.unavailable) target = await spec.open();
    });
    after(async () => {
      await target?.close();
    });

    const fresh = () => `q-${randomBytes(5).toString('hex')}`;
    const at = (ns: string) => ({ url: `${target.url}/${ns}`, authorization: target.authorization });
    const usageOf = async (ns: string): Promise<UsageLine> => {
      const r = await request<{ usage: UsageLine[] }>(`${target.url}/admin/usage?namespace=${ns}`, { auth: target.authorization });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json!.usage.length, 1);
      return r.json!.usage[0]!;
    };
    const setQuota = async (body: Record<string, unknown>) =>
      request<UsageLine>(`${target.url}/admin/quotas`, {
        method: 'POST',
        auth: target.authorization,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    /** The namespace's true content, from enumerate. */
    const content = async (ns: string) => {
      const r = await request<{ blobs: { blobRef: string; size: number }[] }>(`${at(ns).url}/camli/enumerate-blobs?limit=10000`, {
        auth: target.authorization,
      });
      assert.equal(r.status, 200, r.text);
      return { bytes: r.json!.blobs.reduce((n, b) => n + b.size, 0), blobs: r.json!.blobs.length, refs: r.json!.blobs.map((b) => b.blobRef) };
    };
    const counts = (u: { bytes: number; blobs: number }) => ({ bytes: u.bytes, blobs: u.blobs });
    const upload = async (ns: string, blobs: Blob[]) => uploadParts((await preupload(at(ns))).uploadUrl, parts(blobs));

    it('usage counts what a namespace holds; a blob already there costs nothing, the same new blob sent at once by many counts once', skip, async () => {
      const ns = fresh();
      assert.deepEqual(counts(await usageOf(ns)), { bytes: 0, blobs: 0 });
      const [a, b] = [newBlob(1000), newBlob(2000)];
      assert.equal((await upload(ns, [a, b])).status, 200);
      assert.deepEqual(counts(await usageOf(ns)), { bytes: 3000, blobs: 2 });
      // Sent again: received, not counted again.
      const again = await upload(ns, [a, b]);
      assert.deepEqual(
        again.json.received.map((r) => r.blobRef),
        [a.ref, b.ref],
      );
      const c = newBlob(500);
      const all = await Promise.all(Array.from({ length: 8 }, () => upload(ns, [c])));
      for (const r of all) assert.deepEqual(r.json.received, [{ blobRef: c.ref, size: 500 }], r.text);
      assert.deepEqual(counts(await usageOf(ns)), { bytes: 3500, blobs: 3 });
      assert.deepEqual(counts(await usageOf(ns)), counts(await content(ns)));
      // Identical bytes in another namespace count there (nothing is shared across namespaces).
      const other = fresh();
      await upload(other, [a]);
      assert.deepEqual(counts(await usageOf(other)), { bytes: 1000, blobs: 1 });
      // Listed with every namespace that has a record.
      const r = await request<{ usage: UsageLine[] }>(`${target.url}/admin/usage`, { auth: target.authorization });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(
        r.json!.usage.find((u) => u.namespace === ns),
        { namespace: ns, bytes: 3500, blobs: 3 },
      );
    });

    it('an upload that would pass the quota answers 507 with a JSON errorText before anything is stored, on every upload path', skip, async () => {
      const ns = fresh();
      const set = await setQuota({ namespace: ns, maxBytes: 5000, maxBlobs: 3 });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual(set.json, { namespace: ns, bytes: 0, blobs: 0, maxBytes: 5000, maxBlobs: 3 });
      const first = newBlob(3000);
      assert.equal((await upload(ns, [first])).status, 200);

      // The signed upload URL: 2 x 1500 bytes would make 6000.
      const over = [newBlob(1500), newBlob(1500)];
      const { uploadUrl } = await preupload(at(ns));
      const refused = await uploadParts(uploadUrl, parts(over));
      assertJsonError(refused, 507, new RegExp(`namespace ${ns} is over its quota: it holds 3000 of 5000 bytes and 1 of 3 blobs`));
      assert.equal((refused.json as unknown as { code: string }).code, 'quota_exceeded');
      // Perkeep's batch upload, authorised by credentials.
      const { body, contentType } = multipartBody(parts(over));
      const batch = await jsonReplyOf(
        await fetch(`${at(ns).url}/camli/upload`, {
          method: 'POST',
          headers: { 'content-type': contentType, ...(target.authorization ? { authorization: target.authorization } : {}) },
          body: new Uint8Array(body),
        }),
      );
      assertJsonError(batch, 507, /over its quota/);
      // Nothing of either was stored: not listed, not counted.
      assert.deepEqual((await content(ns)).refs, [first.ref]);
      assert.deepEqual(counts(await usageOf(ns)), { bytes: 3000, blobs: 1 });

      // The large-blob lane: the form's bytes reach staging, the completion refuses them (507) and discards them.
      const big = newBlob(2500);
      const { uploadForm } = await preupload(at(ns));
      const location = await postFormRedirected(uploadForm, big.data, big.ref);
      const completion = await request<{ received: unknown[]; errorText?: string }>(location);
      assert.equal(completion.status, 507, completion.text);
      assert.match(completion.json!.errorText ?? '', /over its quota/);
      assert.deepEqual(completion.json!.received, []);
      assert.deepEqual((await content(ns)).refs, [first.ref]);
      assert.deepEqual(counts(await usageOf(ns)), { bytes: 3000, blobs: 1 });

      // What fits still goes in; then preupload says there is no room for more blobs.
      assert.equal((await upload(ns, [newBlob(1000), newBlob(1000)])).status, 200);
      assert.deepEqual(counts(await usageOf(ns)), { bytes: 5000, blobs: 3 });
      const pre = await preuploadRaw(at(ns).url, blobForm([newBlob(1).ref]), target.authorization);
      assertJsonError(pre, 507, /over its quota/);
      // ... but never for blobs it already has.
      assert.equal((await preuploadRaw(at(ns).url, blobForm([first.ref]), target.authorization)).status, 200);
      // Cleared, it takes blobs again.
      const cleared = await setQuota({ namespace: ns, maxBytes: null, maxBlobs: null });
      assert.deepEqual(cleared.json, { namespace: ns, bytes: 5000, blobs: 3 });
      assert.equal((await upload(ns, [newBlob(10)])).status, 200);
    });

    it('a quota holds under many concurrent uploads: usage never passes it, and equals the true content afterwards', skip, async () => {
      const ns = fresh();
      const maxBytes = 20 * 1000;
      assert.equal((await setQuota({ namespace: ns, maxBytes, maxBlobs: 50 })).status, 200);
      // 24 uploads of 3 blobs of 1000 bytes at once: 72 blobs, room for 20.
      const outcomes = await Promise.all(
        Array.from({ length: 24 }, async () => {
          const { uploadUrl } = await preupload(at(ns));
          const { body, contentType } = multipartBody(parts([newBlob(1000), newBlob(1000), newBlob(1000)]));
          return uploadRaw(uploadUrl, body, contentType);
        }),
      );
      const accepted = outcomes.filter((o) => o.status === 200);
      assert.ok(
        outcomes.every((o) => o.status === 200 || o.status === 507),
        outcomes.map((o) => `${o.status} ${o.text}`).join('\n'),
      );
      assert.equal(accepted.length, 6, 'six whole batches fit in 20000 bytes (all or nothing per request)');
      const usage = await usageOf(ns);
      const truth = await content(ns);
      // The bound (docs/storage-model.md, "Usage and quotas"): no overshoot at all.
      assert.ok(usage.bytes <= maxBytes, `usage ${usage.bytes} passed the quota ${maxBytes}`);
      assert.deepEqual(counts(usage), counts(truth));
      assert.deepEqual(truth, { ...truth, bytes: 18_000, blobs: 18 });
    });

    it('a remove frees its usage', needs('siblings'), async (t) => {
      const ns = fresh();
      const remover = await target.sibling!({ BLOBSERVER_ALLOW_REMOVE: 'true' });
      t.after(() => remover.close());
      const [a, b] = [newBlob(700), newBlob(300)];
      await upload(ns, [a, b]);
      assert.equal((await setQuota({ namespace: ns, maxBytes: 1000 })).status, 200);
      const full = await upload(ns, [newBlob(1)]);
      assert.equal(full.status, 507, full.text);
      const r = await request<{ removed: string[] }>(`${remover.url}/${ns}/camli/remove`, {
        method: 'POST',
        auth: target.authorization,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `blob1=${a.ref}&blob2=${a.ref}`,
      });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(counts(await usageOf(ns)), { bytes: 300, blobs: 1 });
      assert.equal((await upload(ns, [newBlob(600)])).status, 200);
      assert.deepEqual(counts(await usageOf(ns)), counts(await content(ns)));
    });

    it('the admin routes refuse what they cannot use with a 400 and a JSON errorText; the root namespace is "/"', skip, async () => {
      assertJsonError(await setQuota({ namespace: 'Bad Name', maxBytes: 1 }), 400, /not a namespace name/);
      assertJsonError(await setQuota({ namespace: fresh(), maxBytes: -1 }), 400, /maxBytes must be a whole number/);
      assertJsonError(await setQuota({ namespace: fresh(), maxBlobs: 'ten' }), 400, /maxBlobs must be a whole number/);
      assertJsonError(await setQuota({ maxBlobs: 1 }), 400, /namespace is required/);
      assertJsonError(await setQuota({ namespace: fresh(), maxFiles: 1 }), 400, /unknown field/);
      assertJsonError(await request(`${target.url}/admin/usage?namespace=camli`, { auth: target.authorization }), 400, /reserved/);
      const root = await request<{ usage: UsageLine[] }>(`${target.url}/admin/usage?namespace=/`, { auth: target.authorization });
      assert.equal(root.status, 200, root.text);
      assert.equal(root.json!.usage[0]!.namespace, '/');
      // A namespace named like the admin routes cannot exist.
      assertJsonError(await request(`${target.url}/admin/camli/stat?camliversion=1`, { auth: target.authorization }), 400, /reserved/);
    });
  });
}
