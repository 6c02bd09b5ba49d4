import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formParams, parseBlobList } from '../../lambda/core/http/blob-form.js';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { HttpError } from '../../lambda/core/http/errors.js';
import type { HttpEvent } from '../../lambda/core/http/http.js';

const ref = (n: number) => blobRefOf(Buffer.from(`blob number ${n}`), n % 2 ? 'sha1' : 'sha224');
const refs = (count: number) => Array.from({ length: count }, (_, i) => ref(i + 1));

function form(list: readonly string[], extra: Record<string, string> = { camliversion: '1' }): URLSearchParams {
  const p = new URLSearchParams(extra);
  for (const [i, r] of list.entries()) p.set(`blob${i + 1}`, r);
  return p;
}

/** Asserts the call throws an HttpError with this status whose message matches. */
function assertHttpError(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HttpError, `expected HttpError, got ${String(err)}`);
    assert.equal(err.status, status);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('blob list form: camliversion', () => {
  it('is required', () => assertHttpError(() => parseBlobList(form([ref(1)], {})), 400, /camliversion/));
  for (const v of ['2', '0', '', ' 1', '1.0']) {
    it(`refuses camliversion=${JSON.stringify(v)}`, () => assertHttpError(() => parseBlobList(form([ref(1)], { camliversion: v })), 400, /camliversion/));
  }
  it('can be waived for endpoints that do not take it', () => {
    assert.deepEqual(parseBlobList(form([ref(1)], {}), { requireVersion: false }), [ref(1)]);
  });
  it('with no blobs is an empty list', () => assert.deepEqual(parseBlobList(form([])), []));
});

describe('blob list form: count and numbering', () => {
  it('accepts 1000 refs, in order', () => {
    const list = refs(1000);
    assert.deepEqual(parseBlobList(form(list)), list);
  });

  it('refuses 1001 refs with 400', () => assertHttpError(() => parseBlobList(form(refs(1001))), 400, /1000/));

  it('refuses 1001 keys even when they repeat one ref', () => {
    assertHttpError(() => parseBlobList(form(Array.from({ length: 1001 }, () => ref(1)))), 400, /1000/);
  });

  it('stops reading at the first missing number (gap rule)', () => {
    const p = form([ref(1), ref(2)]);
    p.set('blob4', ref(4));
    p.set('blob5', 'not a blobref, but never read');
    assert.deepEqual(parseBlobList(p), [ref(1), ref(2)]);
  });

  it('reads nothing when blob1 is missing', () => {
    const p = new URLSearchParams({ camliversion: '1', blob2: ref(2) });
    assert.deepEqual(parseBlobList(p), []);
  });

  it('does not count keys past a gap toward the 1000 cap', () => {
    const p = form(refs(1000));
    p.set('blob1002', ref(1002));
    assert.equal(parseBlobList(p).length, 1000);
  });

  it('gap rule, property: the answer is exactly the refs before the first hole', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 40 }), (numbers) => {
        const p = new URLSearchParams({ camliversion: '1' });
        for (const n of numbers) p.set(`blob${n}`, ref(n));
        let expectedCount = 0;
        while (numbers.includes(expectedCount + 1)) expectedCount++;
        assert.deepEqual(parseBlobList(p), refs(expectedCount));
      }),
    );
  });

  it('answers duplicate refs once, keeping first-seen order', () => {
    assert.deepEqual(parseBlobList(form([ref(1), ref(2), ref(1), ref(3), ref(2)])), [ref(1), ref(2), ref(3)]);
  });
});

describe('blob list form: invalid values', () => {
  it('400 names the offending key', () => {
    const list = [
      ref(1),
      ref(2),
      ref(3)
        .toUpperCase()
        .replace(/^SHA(1|224)/, 'sha$1'),
    ];
    assertHttpError(() => parseBlobList(form(list)), 400, /\bblob3\b/);
  });

  for (const bad of ['', 'sha1-xyz', 'md5-d41d8cd98f00b204e9800998ecf8427e', `${ref(1)} `]) {
    it(`refuses ${JSON.stringify(bad)} as blob2`, () => assertHttpError(() => parseBlobList(form([ref(1), bad])), 400, /\bblob2\b/));
  }

  it('keeps the error short for a huge value', () => {
    assertHttpError(() => parseBlobList(form(['x'.repeat(100_000)])), 400, /^.{0,200}$/s);
  });
});

describe('blob list form: where the form comes from', () => {
  const event = (method: string, body: string | undefined, contentType: string | undefined, rawQueryString = ''): HttpEvent =>
    ({
      requestContext: { http: { method } },
      headers: contentType ? { 'content-type': contentType } : {},
      body,
      isBase64Encoded: false,
      rawQueryString,
    }) as unknown as HttpEvent;

  it('reads an urlencoded POST body', () => {
    const p = formParams(event('POST', `camliversion=1&blob1=${ref(1)}`, 'application/x-www-form-urlencoded; charset=utf-8'));
    assert.deepEqual(parseBlobList(p), [ref(1)]);
  });

  it('reads a base64-encoded POST body', () => {
    const e = {
      ...event('POST', Buffer.from(`camliversion=1&blob1=${ref(1)}`).toString('base64'), 'application/x-www-form-urlencoded'),
      isBase64Encoded: true,
    };
    assert.deepEqual(parseBlobList(formParams(e)), [ref(1)]);
  });

  it('reads the query string of a GET', () => {
    assert.deepEqual(parseBlobList(formParams(event('GET', undefined, undefined, `camliversion=1&blob1=${ref(1)}`))), [ref(1)]);
  });

  it('refuses a POST body of another content type with 400', () => {
    assertHttpError(() => formParams(event('POST', '{}', 'application/json')), 400, /x-www-form-urlencoded/);
  });
});
