import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemblePage, parseEnumerateQuery } from '../../lambda/core/read/enumerate.js';
import { HttpError } from '../../lambda/core/http/errors.js';
import { DEFAULT_ENUMERATE_LIMIT, MAX_ENUMERATE_LIMIT } from '../../lambda/core/limits.js';

const q = (query: string) => parseEnumerateQuery(new URLSearchParams(query));

const refusal = (query: string) => {
  try {
    q(query);
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return err;
  }
  assert.fail(`${query} was accepted`);
};

describe('parseEnumerateQuery', () => {
  it('defaults: from the start, 100 per page', () => {
    assert.deepEqual(q(''), { after: '', limit: DEFAULT_ENUMERATE_LIMIT });
    assert.deepEqual(q('limit=&after='), { after: '', limit: 100 });
  });

  it('takes after as given (any string, stored or not) and ignores maxwaitsec', () => {
    assert.deepEqual(q('after=sha1-abc&limit=5&maxwaitsec=30'), { after: 'sha1-abc', limit: 5 });
    assert.deepEqual(q('after=md5-'), { after: 'md5-', limit: 100 });
  });

  it(`clamps a limit above ${MAX_ENUMERATE_LIMIT}, however large`, () => {
    assert.equal(q(`limit=${MAX_ENUMERATE_LIMIT}`).limit, MAX_ENUMERATE_LIMIT);
    assert.equal(q(`limit=${MAX_ENUMERATE_LIMIT + 1}`).limit, MAX_ENUMERATE_LIMIT);
    assert.equal(q('limit=99999999999999999999999999').limit, MAX_ENUMERATE_LIMIT);
    assert.equal(q('limit=1').limit, 1);
  });

  it('refuses a limit that is not a positive integer with 400 naming limit', () => {
    for (const bad of ['0', '000', '-1', 'abc', '1.5', '1e3', ' 5', '0x10']) {
      const err = refusal(`limit=${encodeURIComponent(bad)}`);
      assert.equal(err.status, 400);
      assert.match(err.message, /limit/);
    }
  });

  it('refuses an after longer than any blobref could need with 400', () => {
    assert.equal(q(`after=${'a'.repeat(256)}`).after.length, 256);
    assert.equal(refusal(`after=${'a'.repeat(257)}`).status, 400);
  });
});

describe('assemblePage', () => {
  const rows = (...refs: string[]) => refs.map((blobRef) => ({ blobRef, size: 1 }));
  const sizes = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it('lists the first `limit` candidates that are still stored, with their consistent sizes', () => {
    const page = assemblePage(rows('a', 'b', 'c'), 3, sizes({ a: 10, c: 30 }));
    assert.deepEqual(page, {
      blobs: [
        { blobRef: 'a', size: 10 },
        { blobRef: 'c', size: 30 },
      ],
    });
  });

  it("sets continueAfter only when a candidate beyond the page exists: the page's last candidate, stored or not", () => {
    assert.deepEqual(assemblePage(rows('a', 'b', 'c'), 2, sizes({ a: 1, b: 2 })), {
      blobs: [
        { blobRef: 'a', size: 1 },
        { blobRef: 'b', size: 2 },
      ],
      continueAfter: 'b',
    });
    // b is gone: the page is short, but paging still resumes after b, not before it.
    assert.deepEqual(assemblePage(rows('a', 'b', 'c'), 2, sizes({ a: 1 })), { blobs: [{ blobRef: 'a', size: 1 }], continueAfter: 'b' });
    assert.deepEqual(assemblePage(rows('a', 'b'), 2, sizes({ a: 1, b: 2 })).continueAfter, undefined);
  });

  it('answers an empty page without continueAfter when nothing is left', () => {
    assert.deepEqual(assemblePage([], 100, new Map()), { blobs: [] });
  });
});
