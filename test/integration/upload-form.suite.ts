import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Capability, Endpoint, Target, TargetSpec } from '../support/target.js';
import { fieldOf, policyOf, postForm, postFormRedirected, stagedKeyOf, withQuery, type UploadForm } from '../support/upload-form.js';
import { assertJsonError, jsonReplyOf } from '../support/http.js';
import { have, newBlob, part, preupload, store, uploadParts, type Answer, type Blob, type UploadAnswer } from './seed.suite.js';

/**
 * The large-blob lane of the seed protocol (DESIGN §6), part of the seed suite on every lane:
 * `uploadForm` (a presigned S3 POST into staging/) and the completion endpoint S3 redirects to.
 *
 * Which lane proves what: s3rver (the local lanes) stores whatever is POSTed, checking neither
 * policy nor signature, so there the tests exercise the completion endpoint's own checks
 * (digest, size, key, token). What only S3 itself can refuse (size range, key prefix, pinned
 * fields, expiry, tampered policy) needs the `enforcesPostPolicy` capability: those tests run
 * against LocalStack or AWS and are reported skipped, with the reason, on s3rver.
 */

export interface SuiteContext {
  spec: TargetSpec;
  target: () => Target;
  has: (cap: Capability) => boolean;
  needs: (...caps: Capability[]) => { skip?: string };
  cap: <K extends keyof Target>(key: K) => NonNullable<Target[K]>;
  sibling: (t: { after(fn: () => Promise<void>): void }, env: Record<string, string>) => Promise<Endpoint & Pick<Target, 'authorization'>>;
}

type Completion = Answer<Partial<UploadAnswer> & { errorText?: string }>;

/** Follows S3's redirect, as a client does: a plain GET, no credentials. */
export async function follow(location: string): Promise<Completion> {
  return jsonReplyOf(await fetch(location, { redirect: 'manual' }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STAGED_KEY = /^staging\/[0-9a-f]{32}\/\$\{filename\}$/;

export function defineUploadFormTests({ target, has, needs, cap, sibling }: SuiteContext): void {
  const form = async (of: Pick<Target, 'url' | 'authorization'> = target()): Promise<UploadForm> => (await preupload(of)).uploadForm;

  /** Stores a blob through a fresh form and returns the redirect S3 gave. */
  const storeViaForm = async (b: Blob, of?: Pick<Target, 'url' | 'authorization'>): Promise<{ location: string; answer: Completion }> => {
    const location = await postFormRedirected(await form(of), b.data, b.ref);
    const answer = await follow(location);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json.received, [{ blobRef: b.ref, size: b.data.length }], answer.text);
    return { location, answer };
  };

  /** Nothing of `b` anywhere: not indexed, no blob object, and (with storage) no staged object at `stagedKey`. */
  const assertNotStored = async (b: Blob, stagedKey?: string) => {
    assert.deepEqual(await have(target(), b.ref), [], `${b.ref} is stored`);
    if (has('storage')) {
      const storage = cap('storage');
      assert.equal(await storage.row(b.ref), undefined, 'index row');
      assert.equal(await storage.object(b.ref), undefined, 'blob object');
      if (stagedKey) assert.equal(await storage.sizeAt(stagedKey), undefined, `staged upload ${stagedKey} was not deleted`);
    }
  };

  describe('uploadForm: presigned POST to S3, 303 to the completion endpoint (DESIGN §6)', () => {
    it('every answer carrying uploadUrl carries an uploadForm: S3 URL, fields, maxBlobSize, expirationSeconds', needs(), async () => {
      const pre = await preupload(target());
      const up = await uploadParts(pre.uploadUrl, [part(newBlob())]);
      assert.equal(up.status, 200, up.text);
      const prefixes = new Set<string>();
      for (const { uploadForm: f, uploadUrlExpirationSeconds } of [pre, up.json]) {
        assert.deepEqual(Object.keys(f).sort(), ['expirationSeconds', 'fields', 'maxBlobSize', 'url']);
        assert.match(new URL(f.url).protocol, /^https?:$/);
        assert.match(fieldOf(f, 'key'), STAGED_KEY);
        for (const name of ['Policy', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Algorithm', 'X-Amz-Date'])
          assert.ok(f.fields[name], `field ${name} missing`);
        assert.ok(fieldOf(f, 'success_action_redirect').startsWith(`${target().url}/camli/upload-complete/`), fieldOf(f, 'success_action_redirect'));
        assert.equal(f.expirationSeconds, uploadUrlExpirationSeconds);
        if (target().expected.maxBlobSize !== undefined) assert.equal(f.maxBlobSize, target().expected.maxBlobSize);
        const prefix = fieldOf(f, 'key').replace('${filename}', '');
        prefixes.add(prefix);

        // The policy S3 enforces: size range, key prefix, the redirect unchanged, expiry with the URL.
        const policy = policyOf(f);
        assert.deepEqual(
          policy.conditions.filter((c) => Array.isArray(c)),
          [
            ['content-length-range', 0, f.maxBlobSize],
            ['starts-with', '$key', prefix],
          ],
        );
        assert.ok(policy.conditions.some((c) => JSON.stringify(c) === JSON.stringify({ success_action_redirect: fieldOf(f, 'success_action_redirect') })));
        const expiresIn = (Date.parse(policy.expiration) - Date.now()) / 1000;
        assert.ok(Math.abs(expiresIn - f.expirationSeconds) < 120, `policy expires in ${expiresIn} s, not ${f.expirationSeconds}`);
      }
      assert.equal(prefixes.size, 2, 'each answer gets its own staging prefix');
    });

    it('stores a blob POSTed through the form; the 303 leads to the upload JSON with a fresh uploadUrl and uploadForm', needs(), async () => {
      for (const b of [newBlob(100_000, 'sha224'), newBlob(3000, 'sha1')]) {
        const f = await form();
        const location = await postFormRedirected(f, b.data, b.ref);
        assert.ok(location.startsWith(`${target().url}/camli/upload-complete/`), location);
        const stagedKey = stagedKeyOf(location);
        assert.equal(stagedKey, fieldOf(f, 'key').replace('${filename}', b.ref));

        const a = await follow(location);
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }]);
        assert.equal(a.json.errorText, undefined);
        assert.ok(a.json.uploadUrl?.startsWith(`${target().url}/camli/upload/`), a.text);
        assert.ok(a.json.maxUploadSize! > 0 && a.json.uploadUrlExpirationSeconds! > 0);
        assert.match(fieldOf(a.json.uploadForm!, 'key'), STAGED_KEY);
        assert.notEqual(fieldOf(a.json.uploadForm!, 'key'), fieldOf(f, 'key'), 'a fresh form, not the same one');
        assert.deepEqual(await have(target(), b.ref), [{ blobRef: b.ref, size: b.data.length }]);
        if (has('storage')) {
          const storage = cap('storage');
          assert.deepEqual(await storage.objectBytes(b.ref), b.data);
          assert.equal((await storage.row(b.ref))?.size, b.data.length);
          assert.equal(await storage.sizeAt(stagedKey), undefined, 'the staged upload was not deleted');
        }
        // The fresh capabilities work: the upload URL, and the form.
        const [next, viaForm] = [newBlob(), newBlob(5000)];
        const up = await uploadParts(a.json.uploadUrl!, [part(next)]);
        assert.deepEqual(up.json.received, [{ blobRef: next.ref, size: next.data.length }], up.text);
        const again = await follow(await postFormRedirected(a.json.uploadForm!, viaForm.data, viaForm.ref));
        assert.deepEqual(again.json.received, [{ blobRef: viaForm.ref, size: viaForm.data.length }], again.text);
      }
    });

    it('stores a blob of exactly maxBlobSize and refuses one byte more (completion check; s3rver lets it in)', needs('siblings'), async (t) => {
      const small = await sibling(t, { BLOBSERVER_MAX_BLOB_SIZE: '4096' });
      const f = await form(small);
      assert.equal(f.maxBlobSize, 4096);
      const [exact, over] = [newBlob(4096), newBlob(4097)];
      const ok = await follow(await postFormRedirected(f, exact.data, exact.ref));
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json.received, [{ blobRef: exact.ref, size: 4096 }]);

      const r = await postForm(f, over.data, over.ref);
      if (has('enforcesPostPolicy')) {
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, /EntityTooLarge/);
      } else {
        assert.equal(r.status, 303, r.text);
        const a = await follow(r.location!);
        assertJsonError(a, 400, /larger than the 4096-byte blob limit/);
        assert.deepEqual(a.json.received, []);
        assert.equal(a.json.uploadUrl, undefined, 'a refused upload must not extend a capability');
        await assertNotStored(over, stagedKeyOf(r.location!));
      }
      // The same limit holds on the multipart lane of the same server.
      const viaUrl = await uploadParts((await preupload(small)).uploadUrl, [part(newBlob(4097))]);
      assert.deepEqual(viaUrl.json.received, []);
      assert.match(viaUrl.json.errorText ?? '', /4096-byte blob limit/);
    });

    it('at the default limit: one byte over maxBlobSize is refused (by S3 where it enforces the policy, else by the completion)', needs(), async () => {
      const f = await form();
      const over = newBlob(f.maxBlobSize + 1);
      const r = await postForm(f, over.data, over.ref);
      if (has('enforcesPostPolicy')) {
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, /EntityTooLarge/);
        await assertNotStored(over);
      } else {
        assert.equal(r.status, 303, r.text);
        const a = await follow(r.location!);
        assertJsonError(a, 400, /blob limit/);
        await assertNotStored(over, stagedKeyOf(r.location!));
      }
    });

    it('refuses bytes that do not match the blobref named by the filename, and deletes them', needs(), async () => {
      const claimed = newBlob(20_000);
      const location = await postFormRedirected(await form(), randomBytes(20_000), claimed.ref);
      const a = await follow(location);
      assertJsonError(a, 400, /do not match/);
      assert.deepEqual(a.json.received, []);
      assert.match(a.json.errorText!, new RegExp(claimed.ref));
      await assertNotStored(claimed, stagedKeyOf(location));
      // Refused means gone: following the same redirect again finds nothing to promote.
      assertJsonError(await follow(location), 400, /nothing is staged/);
      await assertNotStored(claimed);
    });

    it('refuses a filename that is not a blobref without touching storage (the upload is left to the staging collector)', needs(), async () => {
      const b = newBlob(500);
      for (const filename of ['big.bin', b.ref.toUpperCase(), `${b.ref}.bin`]) {
        const location = await postFormRedirected(await form(), b.data, filename);
        const a = await follow(location);
        assertJsonError(a, 400, /filename must be the blobref/);
        assert.equal(a.json.uploadUrl, undefined);
        if (has('storage'))
          assert.equal(await cap('storage').sizeAt(stagedKeyOf(location)), b.data.length, 'a staged key that is not staging/<id>/<blobref> was touched');
      }
      await assertNotStored(b);
    });

    it('a completion key that climbs out of its staging prefix (`..`) is refused; the victim blob and pack still serve', needs('storage'), async () => {
      const storage = cap('storage');
      const victim = newBlob(1_200_000);
      const packed = [newBlob(100), newBlob(200), newBlob(300), newBlob(400), newBlob(500)] as const;
      await store(target(), victim);
      await store(target(), ...packed);
      const victimKey = (await storage.row(victim.ref))!.key;
      const packKey = (await storage.row(packed[0].ref))!.key;
      assert.match(packKey, /^packs\//);
      const mine = newBlob(700);
      const location = await postFormRedirected(await form(), mine.data, mine.ref);
      const prefix = stagedKeyOf(location).replace(/[^/]*$/, '');
      for (const key of [
        `${prefix}../../${victimKey}`,
        `${prefix}../../${packKey}`,
        `${prefix}./${mine.ref}`,
        `${prefix}${mine.ref}/../${mine.ref}`,
        `${prefix}..`,
      ]) {
        const a = await follow(withQuery(location, 'key', key));
        assertJsonError(a, 400, /filename must be the blobref/);
      }
      for (const b of [victim, ...packed]) {
        const res = await fetch(`${target().url}/camli/${b.ref}`, { headers: target().authorization ? { authorization: target().authorization! } : {} });
        assert.equal(res.status, 200, `${b.ref} no longer serves`);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), b.data);
      }
      assert.equal(await storage.sizeAt(victimKey), victim.data.length);
      assert.ok((await storage.sizeAt(packKey))! >= 1500);
      // The upload itself still completes through its own redirect.
      assert.deepEqual((await follow(location)).json.received, [{ blobRef: mine.ref, size: mine.data.length }]);
    });

    it('a completion URL naming a key its form could not write is refused, and that object is left alone', needs(), async () => {
      const [mine, theirs] = [newBlob(700), newBlob(800)];
      const myLocation = await postFormRedirected(await form(), mine.data, mine.ref);
      const theirLocation = await postFormRedirected(await form(), theirs.data, theirs.ref);
      const theirKey = stagedKeyOf(theirLocation);
      for (const key of [theirKey, `blobs/${theirs.ref}`, `staging/${theirs.ref}`]) {
        const a = await follow(withQuery(myLocation, 'key', key));
        assertJsonError(a, 400, /not written with this upload form/);
      }
      assertJsonError(await follow(withQuery(myLocation, 'key', undefined)), 400, /no key/);
      assertJsonError(await follow(withQuery(myLocation, 'bucket', 'someone-elses-bucket')), 400, /bucket/);
      if (has('storage')) assert.equal(await cap('storage').sizeAt(theirKey), theirs.data.length, 'another upload was deleted');
      assert.deepEqual(await have(target(), theirs.ref), []);
      // Both uploads still complete through their own redirects.
      for (const [b, location] of [
        [mine, myLocation],
        [theirs, theirLocation],
      ] as const) {
        const a = await follow(location);
        assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }], a.text);
      }
    });

    it('refuses a forged, malformed or wrong-kind completion token with 403, leaving the upload staged', needs(), async () => {
      const b = newBlob(600);
      const location = await postFormRedirected(await form(), b.data, b.ref);
      const u = new URL(location);
      const token = u.pathname.split('/').pop()!;
      const parts = token.split('.');
      assert.equal(parts.length, 5, `a completion token has five fields: ${token}`);
      const uploadToken = new URL((await preupload(target())).uploadUrl).pathname.split('/').pop()!;
      const forged = [
        [...parts.slice(0, 3), parts[3]!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')), parts[4]].join('.'), // another staging prefix
        [parts[0], String(Number(parts[1]) + 86_400), ...parts.slice(2)].join('.'), // a later expiry
        uploadToken, // an upload-URL token is not a completion token
        token.replace('.', '%2E'), // the one canonical spelling only
        'x',
        parts.slice(0, 4).join('.'),
      ];
      for (const bad of forged) {
        const forgedUrl = new URL(location);
        forgedUrl.pathname = forgedUrl.pathname.replace(/[^/]*$/, bad);
        assertJsonError(await follow(forgedUrl.toString()), 403);
      }
      assert.deepEqual(await have(target(), b.ref), []);
      if (has('storage')) assert.equal(await cap('storage').sizeAt(stagedKeyOf(location)), b.data.length);
      const a = await follow(location);
      assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }], a.text);
    });

    it(
      'a POST S3 accepted in time completes after the form expired (completion grace); past the grace: 403 (3 s TTL, 4 s grace)',
      needs('siblings'),
      async (t) => {
        // 3 s, not 1: where S3 enforces the policy, the POST itself must land before the form expires.
        const short = await sibling(t, { BLOBSERVER_UPLOAD_URL_TTL_SECONDS: '3', BLOBSERVER_COMPLETION_GRACE_SECONDS: '4' });
        const [late, abandoned] = [newBlob(900), newBlob(901)];
        const f = await form(short);
        assert.equal(f.expirationSeconds, 3, 'the form keeps its own expiry');
        const expiresIn = (Date.parse(policyOf(f).expiration) - Date.now()) / 1000;
        assert.ok(expiresIn <= 3.5, `the form's policy expires in ${expiresIn} s, not 3`);
        const [lateLocation, abandonedLocation] = [
          await postFormRedirected(f, late.data, late.ref),
          await postFormRedirected(await form(short), abandoned.data, abandoned.ref),
        ];
        await sleep(3600); // the form has expired; its completion URL has not
        const a = await follow(lateLocation);
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.json.received, [{ blobRef: late.ref, size: late.data.length }]);
        await sleep(4000); // past the grace too
        assertJsonError(await follow(abandonedLocation), 403, /expired/);
        await assertNotStored(abandoned);
      },
    );

    it('S3 refuses a form POSTed after it expired (server with a 1 s TTL)', needs('enforcesPostPolicy', 'siblings'), async (t) => {
      const short = await sibling(t, { BLOBSERVER_UPLOAD_URL_TTL_SECONDS: '1' });
      const f = await form(short);
      await sleep(2200);
      const b = newBlob(900);
      const r = await postForm(f, b.data, b.ref);
      assert.equal(r.status, 403, r.text);
      assert.match(r.text, /expired/i);
      await assertNotStored(b);
    });

    it('S3 refuses a POST that breaks the policy: key outside the prefix, another redirect, no redirect', needs('enforcesPostPolicy'), async () => {
      const b = newBlob(1000);
      const f = await form();
      for (const fields of [
        { key: `blobs/${b.ref}` },
        { key: `staging/${b.ref}` },
        { success_action_redirect: 'https://evil.example/' },
        { success_action_redirect: undefined },
      ]) {
        const r = await postForm(f, b.data, b.ref, fields);
        assert.equal(r.status, 403, `${JSON.stringify(fields)}: ${r.status} ${r.text.slice(0, 300)}`);
      }
      await assertNotStored(b);
    });

    it('S3 refuses a POST whose policy was altered (a larger size range) without a new signature', needs('verifiesPostSignature'), async () => {
      const b = newBlob(1000);
      const f = await form();
      const policy = policyOf(f);
      const longer = Buffer.from(
        JSON.stringify({ ...policy, conditions: policy.conditions.map((c) => (Array.isArray(c) && c[0] === 'content-length-range' ? [c[0], 0, 1 << 30] : c)) }),
      ).toString('base64');
      const r = await postForm(f, b.data, b.ref, { Policy: longer });
      assert.equal(r.status, 403, `${r.status} ${r.text.slice(0, 300)}`);
      await assertNotStored(b);
    });

    it('replaying the 303 gives the same answer and stores nothing twice', needs(), async () => {
      const b = newBlob(40_000);
      const { location, answer } = await storeViaForm(b);
      const object = has('storage') ? await cap('storage').object(b.ref) : undefined;
      for (let i = 0; i < 2; i++) {
        const again = await follow(location);
        assert.equal(again.status, 200, again.text);
        assert.deepEqual(again.json.received, answer.json.received);
        assert.equal(again.json.errorText, undefined);
      }
      assert.deepEqual(await have(target(), b.ref), [{ blobRef: b.ref, size: b.data.length }]);
      if (has('storage')) {
        assert.equal(cap('storage').putObjectCount(b.ref), 1, 'the blob object was written again');
        assert.deepEqual(await cap('storage').object(b.ref), object);
      }
    });

    it('concurrent completions of one blob (the same redirect, and two forms) all answer received; one object, one row', needs(), async () => {
      const b = newBlob(300_000);
      const [f1, f2] = [await form(), await form()];
      const [l1, l2] = [await postFormRedirected(f1, b.data, b.ref), await postFormRedirected(f2, b.data, b.ref)];
      const answers = await Promise.all([l1, l2, l1, l2].map(follow));
      for (const a of answers) {
        assert.equal(a.status, 200, a.text);
        assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }]);
      }
      assert.deepEqual(await have(target(), b.ref), [{ blobRef: b.ref, size: b.data.length }]);
      if (has('storage')) {
        const storage = cap('storage');
        assert.deepEqual(await storage.objectBytes(b.ref), b.data);
        assert.equal((await storage.row(b.ref))?.size, b.data.length);
        for (const l of [l1, l2]) assert.equal(await storage.sizeAt(stagedKeyOf(l)), undefined, 'a staged upload was left behind');
      }
    });

    it(
      'N parallel completions of one upload promote it once: one row naming one of their copies, the others unreferenced, nothing staged',
      needs('storage'),
      async () => {
        const storage = cap('storage');
        for (const n of [2, 5, 10]) {
          const b = newBlob(400_000);
          const location = await postFormRedirected(await form(), b.data, b.ref);
          const answers = await Promise.all(Array.from({ length: n }, () => follow(location)));
          for (const a of answers) {
            assert.equal(a.status, 200, a.text);
            assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: b.data.length }]);
          }
          // Losers leave their copies to fsck (the write side may not delete under blobs/).
          const keys = await storage.keysUnder(`blobs/${b.ref}`);
          assert.ok(keys.length >= 1 && keys.length <= n, `${n} completions left ${keys.length} objects: ${keys.join(', ')}`);
          assert.ok(keys.includes((await storage.row(b.ref))?.key ?? ''), 'the row names none of the copies');
          assert.deepEqual(await storage.objectBytes(b.ref), b.data);
          assert.equal(await storage.sizeAt(stagedKeyOf(location)), undefined, 'the staged upload was left behind');
        }
      },
    );

    it('a blob stored before (by any lane) completes as received without being rewritten', needs(), async () => {
      const b = newBlob(2000);
      const up = await uploadParts((await preupload(target())).uploadUrl, [part(b)]);
      assert.deepEqual(up.json.received, [{ blobRef: b.ref, size: 2000 }], up.text);
      const location = await postFormRedirected(await form(), b.data, b.ref);
      const a = await follow(location);
      assert.deepEqual(a.json.received, [{ blobRef: b.ref, size: 2000 }], a.text);
      if (has('storage')) {
        assert.equal(cap('storage').putObjectCount(b.ref), 1, 'the blob object was written again');
        assert.equal(await cap('storage').sizeAt(stagedKeyOf(location)), undefined, 'the redundant staged upload was kept');
      }
    });
  });
}
