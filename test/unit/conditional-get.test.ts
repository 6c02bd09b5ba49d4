import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { etagOf, parseRange, planGet } from '../../lambda/core/http/conditional-get.js';

/** Issue 8 item 9: ETag, If-None-Match and a single Range for immutable blobs. */

const REF = 'sha224-' + 'ab'.repeat(28);
const ETAG = `"${REF}"`;
const get = (headers: { ifNoneMatch?: string; range?: string; ifRange?: string }, size = 100, method = 'GET') => planGet({ method, ...headers }, REF, size);

describe('conditional GET of a blob', () => {
  it('the ETag is the quoted blobref, on every 200', () => {
    assert.equal(etagOf(REF), ETAG);
    assert.deepEqual(get({}), { status: 200, headers: { etag: ETAG, 'accept-ranges': 'bytes', 'content-length': '100' } });
    assert.equal(get({}, 100, 'HEAD').headers['etag'], ETAG);
  });

  it('If-None-Match naming the blob (strong, weak, in a list, or *) is answered 304, for GET and HEAD', () => {
    for (const value of [ETAG, `W/${ETAG}`, `"other", ${ETAG}`, '*']) {
      assert.deepEqual(get({ ifNoneMatch: value }), { status: 304, headers: { etag: ETAG } }, value);
      assert.equal(get({ ifNoneMatch: value }, 100, 'HEAD').status, 304);
    }
  });

  it('If-None-Match naming something else is answered in full', () => {
    for (const value of ['"sha224-00"', REF, `"${REF}x"`, '']) assert.equal(get({ ifNoneMatch: value }).status, 200, value);
  });

  it('If-None-Match wins over Range', () => {
    assert.equal(get({ ifNoneMatch: ETAG, range: 'bytes=0-1' }).status, 304);
  });
});

describe('byte ranges of a blob', () => {
  it('answers one range with 206, Content-Range and the range length', () => {
    const cases: [string, number, number][] = [
      ['bytes=0-9', 0, 9],
      ['bytes=90-', 90, 99],
      ['bytes=-10', 90, 99],
      ['bytes=95-200', 95, 99],
      ['bytes=-500', 0, 99],
      ['bytes=99-99', 99, 99],
    ];
    for (const [range, start, end] of cases) {
      const plan = get({ range });
      assert.equal(plan.status, 206, range);
      assert.deepEqual(plan.status === 206 && plan.range, { start, end }, range);
      assert.equal(plan.headers['content-range'], `bytes ${start}-${end}/100`, range);
      assert.equal(plan.headers['content-length'], String(end - start + 1), range);
      assert.equal(plan.headers['etag'], ETAG);
    }
  });

  it('answers a range that starts past the end (or an empty suffix) with 416 and bytes */size', () => {
    for (const range of ['bytes=100-', 'bytes=100-200', 'bytes=-0']) {
      assert.deepEqual(get({ range }).status, 416, range);
      assert.equal(get({ range }).headers['content-range'], 'bytes */100');
    }
    assert.equal(get({ range: 'bytes=0-' }, 0).status, 416, 'the empty blob has no bytes to range over');
  });

  it('ignores malformed ranges, other units and several ranges (whole blob, 200)', () => {
    for (const range of ['bytes=5-1', 'bytes=a-b', 'items=0-1', 'bytes=0-1,5-6', 'bytes=-', '0-1', 'bytes 0-1']) {
      assert.equal(get({ range }).status, 200, range);
      assert.equal(parseRange(range, 100), undefined, range);
    }
  });

  it('ignores Range on HEAD', () => {
    assert.equal(get({ range: 'bytes=0-1' }, 100, 'HEAD').status, 200);
  });

  it('honours Range under If-Range only when it names this blob strongly', () => {
    assert.equal(get({ range: 'bytes=0-1', ifRange: ETAG }).status, 206);
    assert.equal(get({ range: 'bytes=0-1', ifRange: `W/${ETAG}` }).status, 200);
    assert.equal(get({ range: 'bytes=0-1', ifRange: '"sha1-00"' }).status, 200);
    assert.equal(get({ range: 'bytes=0-1', ifRange: 'Wed, 21 Oct 2015 07:28:00 GMT' }).status, 200);
  });
});
