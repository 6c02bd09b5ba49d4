import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_INLINE_RUN } from '../../lambda/core/read/locate.js';
import type { DiscoveryDoc } from '../support/discovery.js';
import { jsonReplyOf, request } from '../support/http.js';
import type { Target, TargetSpec } from '../support/target.js';
import { basicAuth } from '../support/test-server.js';
import { blobForm, newBlob, store, type Blob } from './seed.suite.js';

/**
 * The batch locate extension (DESIGN §9, POST /camli/locate) over real HTTP on every lane:
 * the URLs it hands out are fetched straight from the lane's S3 (through the local server's
 * S3 front), so what they grant is what S3 itself serves. Signed-Range enforcement is
 * checked where S3 checks signatures: LocalStack (S3_SKIP_SIGNATURE_VALIDATION=0) and, on
 * the s3rver lanes, the local S3 front (s3rver alone does not verify SigV4).
 */

interface Located {
  expirationSeconds: number;
  ranges: { url: string; headers: { range: string }; length: number; blobs: { blobRef: string; size: number; offset: number }[] }[];
  inline: { blobRef: string; size: number; data: string }[];
  missing: string[];
  deferred: string[];
}

/** Big enough that a run of them is never inlined. */
const BIG = MAX_INLINE_RUN + 1;

export function defineLocateSuite(spec: TargetSpec): void {
  const unavailable = spec.unavailable ? { skip: spec.unavailable } : {};
  describe(`batch locate extension [${spec.name}]`, unavailable, () => {
    let target: Target;
    before(async () => {
      if (!spec.unavailable) target = await spec.open();
    });
    after(async () => {
      await target?.close();
    });

    const locate = async (refs: readonly string[], authorization = target.authorization) =>
      jsonReplyOf<Located & { errorText?: string }>(
        await fetch(`${target.url}/camli/locate`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
          body: blobForm(refs),
        }),
      );
    const located = async (refs: readonly string[]) => {
      const a = await locate(refs);
      assert.equal(a.status, 200, a.text);
      return a.json;
    };
    /** Every range fetched from S3 as the answer says, as blobRef -> bytes. */
    const fetchAll = async (answer: Located) => {
      const got = new Map<string, Buffer>();
      for (const r of answer.ranges) {
        const res = await request(r.url, { headers: r.headers });
        assert.equal(res.status, 206, res.text);
        assert.equal(res.bytes.length, r.length);
        for (const b of r.blobs) got.set(b.blobRef, res.bytes.subarray(b.offset, b.offset + b.size));
      }
      for (const b of answer.inline) got.set(b.blobRef, Buffer.from(b.data, 'base64'));
      return got;
    };

    it('is advertised in discovery, under a key Perkeep clients ignore', async () => {
      const r = await request<DiscoveryDoc>(`${target.url}/?camli.mode=config`, { auth: target.authorization });
      assert.equal(r.status, 200, r.text);
      assert.equal(new URL(String(r.json!.locateBlobsRoot), target.url).toString(), `${target.url}/camli/locate`);
    });

    it('answers neighbouring blobs of one pack as one signed ranged read, the others apart, unknown refs missing', async () => {
      const blobs = [newBlob(BIG), newBlob(BIG), newBlob(BIG), newBlob(BIG), newBlob(BIG)] as const;
      await store(target, ...blobs);
      const unknown = newBlob(10).ref;
      const wanted = [blobs[0], blobs[1], blobs[2], blobs[4]];
      const answer = await located([...wanted.map((b) => b.ref), unknown]);
      assert.deepEqual(answer.missing, [unknown]);
      assert.deepEqual(answer.deferred, []);
      assert.deepEqual(
        answer.ranges.map((r) => r.blobs.map((b) => b.blobRef)).sort((a, b) => b.length - a.length),
        [[blobs[0].ref, blobs[1].ref, blobs[2].ref], [blobs[4].ref]],
        'the three neighbours share a range; the fifth, past a blob not asked for, has its own',
      );
      for (const r of answer.ranges) {
        const signed = new URL(r.url).searchParams.get('X-Amz-SignedHeaders')?.split(';') ?? [];
        assert.ok(signed.includes('range'), `Range is not a signed header: ${signed.join(';')}`);
        assert.equal(new URL(r.url).searchParams.get('X-Amz-Expires'), String(answer.expirationSeconds));
      }
      if (target.expected.uploadUrlTtlSeconds) assert.equal(answer.expirationSeconds, target.expected.uploadUrlTtlSeconds);
      const got = await fetchAll(answer);
      for (const b of wanted) assert.ok(got.get(b.ref)?.equals(b.data), `bytes of ${b.ref}`);
    });

    it('refuses a URL whose Range was widened or dropped (403 SignatureDoesNotMatch)', async () => {
      const blobs = [newBlob(BIG), newBlob(BIG)] as const;
      await store(target, ...blobs);
      const answer = await located([blobs[0].ref]);
      const [r] = answer.ranges;
      assert.ok(r, 'a range for the blob');
      const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(r.headers.range)!;
      const widened = await request(r.url, { headers: { range: `bytes=${start}-${Number(end) + BIG}` } });
      assert.equal(widened.status, 403, `a widened Range must be refused: ${widened.status} ${widened.text.slice(0, 200)}`);
      assert.match(widened.text, /SignatureDoesNotMatch/);
      const whole = await request(r.url);
      assert.equal(whole.status, 403, `no Range at all must be refused: ${whole.status}`);
      assert.equal((await request(r.url, { headers: r.headers })).status, 206, 'the URL as handed out still works');
    });

    it('answers small blobs inline, bytes exact', async () => {
      const blobs = [newBlob(100), newBlob(1), newBlob(5000)] as const;
      await store(target, ...blobs);
      const answer = await located(blobs.map((b) => b.ref));
      assert.deepEqual(answer.ranges, []);
      const got = await fetchAll(answer);
      for (const b of blobs) assert.ok(got.get(b.ref)?.equals(b.data), `bytes of ${b.ref}`);
    });

    it('never grants the bytes of a removed blob between two asked-for neighbours', async (t) => {
      if (!target.sibling) return t.skip('needs a sibling server that allows removal');
      const blobs = [newBlob(BIG), newBlob(BIG), newBlob(BIG)] as const;
      await store(target, ...blobs);
      const removing = await target.sibling({ BLOBSERVER_ALLOW_REMOVE: 'true' });
      t.after(() => removing.close());
      const rm = await request(`${removing.url}/camli/remove`, {
        method: 'POST',
        auth: target.authorization,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: blobForm([blobs[1].ref], {}),
      });
      assert.equal(rm.status, 200, rm.text);
      const answer = await located(blobs.map((b) => b.ref));
      assert.deepEqual(answer.missing, [blobs[1].ref]);
      assert.equal(answer.ranges.length, 2);
      for (const r of answer.ranges) assert.equal(r.length, BIG, 'each range is exactly one blob');
      const got = await fetchAll(answer);
      assert.ok(got.get(blobs[0].ref)?.equals(blobs[0].data));
      assert.ok(got.get(blobs[2].ref)?.equals(blobs[2].data));
    });

    it('refuses more than 1,000 refs and bad refs with 400 and an errorText', async () => {
      const many = Array.from({ length: 1001 }, () => newBlob(16).ref);
      const tooMany = await locate(many);
      assert.equal(tooMany.status, 400);
      assert.match(String(tooMany.json.errorText), /too many/);
      const bad = await locate(['sha224-nothex']);
      assert.equal(bad.status, 400);
      assert.match(String(bad.json.errorText), /not a valid blobref/);
      const ok = await located(many.slice(0, 1000));
      assert.equal(ok.missing.length, 1000);
    });

    it('needs the same credentials as GET /camli/<ref>', { skip: spec.authenticated ? undefined : 'target runs open' }, async () => {
      const blob: Blob = newBlob(BIG);
      await store(target, blob);
      const anonymous = await locate([blob.ref], '');
      assert.equal(anonymous.status, 401);
      const wrong = await locate([blob.ref], basicAuth('alice', 'wrong'));
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.ranges, undefined);
    });
  });
}
