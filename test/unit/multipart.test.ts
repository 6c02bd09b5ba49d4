import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { HttpError } from '../../lambda/core/http/errors.js';
import { MAX_BLOB_SIZE, MAX_PARTS_PER_REQUEST } from '../../lambda/core/limits.js';
import { multipartBoundary, partsWithContentType, readBlobParts, type ParsedUpload } from '../../lambda/core/upload/multipart.js';
import { multipartBody, type Part } from '../support/test-server.js';

const blob = (text: string, hash: 'sha1' | 'sha224' = 'sha224') => {
  const data = Buffer.from(text);
  return { name: blobRefOf(data, hash), data };
};

async function parse(parts: Part[], maxBlobSize = MAX_BLOB_SIZE): Promise<ParsedUpload> {
  const { body, contentType } = multipartBody(parts);
  return readBlobParts(body, contentType, maxBlobSize);
}

const refsOf = (p: ParsedUpload) => p.blobs.map((b) => b.ref);

describe('multipart upload engine: verification', () => {
  it('returns good parts with their exact bytes, sha1 and sha224 alike', async () => {
    const a = blob('alpha', 'sha1');
    const b = blob('bravo', 'sha224');
    const parsed = await parse([a, b]);
    assert.deepEqual(parsed.refused, []);
    assert.deepEqual(parsed.blobs, [
      { ref: a.name, bytes: a.data },
      { ref: b.name, bytes: b.data },
    ]);
  });

  it('accepts the empty blob', async () => {
    const empty = { name: blobRefOf(Buffer.alloc(0), 'sha1'), data: Buffer.alloc(0) };
    const parsed = await parse([empty]);
    assert.deepEqual(parsed, { blobs: [{ ref: empty.name, bytes: Buffer.alloc(0) }], refused: [] });
  });

  it('refuses a lying part while the good parts around it pass', async () => {
    const good1 = blob('one');
    const good2 = blob('two', 'sha1');
    const liar = { name: blob('what I claim').name, data: Buffer.from('what I send') };
    const parsed = await parse([good1, liar, good2]);
    assert.deepEqual(refsOf(parsed), [good1.name, good2.name]);
    assert.equal(parsed.refused.length, 1);
    assert.match(parsed.refused[0]!, new RegExp(`^${liar.name}: .*does not match`));
  });

  it('refuses a part whose data is the right blob with one byte flipped', async () => {
    const data = randomBytes(64 * 1024);
    const name = blobRefOf(data);
    data[data.length - 1]! ^= 1;
    const parsed = await parse([{ name, data }]);
    assert.deepEqual(parsed.blobs, []);
    assert.equal(parsed.refused.length, 1);
  });

  it('verifies binary parts that contain CRLFs and boundary-like bytes', async () => {
    const data = Buffer.concat([Buffer.from('\r\n--\r\n\r\n--testboundary'), randomBytes(1000), Buffer.from('\r\n')]);
    const parsed = await parse([{ name: blobRefOf(data), data }]);
    assert.deepEqual(parsed.blobs, [{ ref: blobRefOf(data), bytes: data }]);
  });

  it('returns every part of a random batch: all good ones, none of the lying ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ bytes: fc.uint8Array({ maxLength: 3000 }), hash: fc.constantFrom('sha1' as const, 'sha224' as const), lie: fc.boolean() }), {
          maxLength: 12,
        }),
        async (specs) => {
          const parts = specs.map((s, i) => {
            const data = Buffer.from(s.bytes);
            // Unique content per part, so refs are unique and a lie is always a lie.
            const tagged = Buffer.concat([Buffer.from(`#${i}#`), data]);
            const name = blobRefOf(s.lie ? Buffer.concat([tagged, Buffer.from('x')]) : tagged, s.hash);
            return { name, data: tagged };
          });
          const parsed = await parse(parts);
          assert.deepEqual(
            refsOf(parsed),
            parts.filter((_, i) => !specs[i]!.lie).map((p) => p.name),
          );
          for (const b of parsed.blobs) assert.equal(blobRefOf(b.bytes, b.ref.startsWith('sha1-') ? 'sha1' : 'sha224'), b.ref);
          assert.equal(parsed.refused.length, specs.filter((s) => s.lie).length);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('multipart upload engine: refused parts', () => {
  it('refuses a part without a Content-Type header, but not its neighbours', async () => {
    const good = blob('typed');
    const untyped = { ...blob('untyped'), contentType: null };
    const parsed = await parse([good, untyped, blob('also typed')]);
    assert.deepEqual(refsOf(parsed), [good.name, blob('also typed').name]);
    assert.equal(parsed.refused.length, 1);
    assert.match(parsed.refused[0]!, new RegExp(`^${untyped.name}: .*Content-Type`));
  });

  it('accepts any Content-Type value, e.g. text/plain', async () => {
    const parsed = await parse([{ ...blob('text'), contentType: 'text/plain' }]);
    assert.deepEqual(refsOf(parsed), [blob('text').name]);
  });

  it('refuses a part without a name (file part and field part)', async () => {
    const good = blob('named');
    const parsed = await parse([
      { data: Buffer.from('nameless file'), filename: 'f.bin' },
      good,
      { data: Buffer.from('nameless field'), filename: null, contentType: 'text/plain' },
    ]);
    assert.deepEqual(refsOf(parsed), [good.name]);
    assert.equal(parsed.refused.length, 2);
    for (const r of parsed.refused) assert.match(r, /no name/);
  });

  it('refuses a part whose name is not a blobref', async () => {
    const parsed = await parse([{ name: 'sha1-NOTHEX', data: Buffer.from('x') }, blob('ok')]);
    assert.deepEqual(refsOf(parsed), [blob('ok').name]);
    assert.equal(parsed.refused.length, 1);
    assert.match(parsed.refused[0]!, /not a valid blobref/);
  });

  it('takes an application/octet-stream part without filename as a blob', async () => {
    const b = blob('no filename');
    const parsed = await parse([{ ...b, filename: null, contentType: 'application/octet-stream' }]);
    assert.deepEqual(refsOf(parsed), [b.name]);
  });

  it('refuses an oversize part while smaller ones pass; a part of exactly the limit passes', async () => {
    const limit = 1000;
    const exact = { name: blobRefOf(Buffer.alloc(limit, 1)), data: Buffer.alloc(limit, 1) };
    const over = { name: blobRefOf(Buffer.alloc(limit + 1, 2)), data: Buffer.alloc(limit + 1, 2) };
    const small = blob('small');
    const parsed = await parse([over, small, exact], limit);
    assert.deepEqual(refsOf(parsed), [small.name, exact.name]);
    assert.equal(parsed.refused.length, 1);
    assert.match(parsed.refused[0]!, new RegExp(`^${over.name}: larger than the ${limit}-byte`));
  });

  it('does not yield a part cut off by a truncated body, even when all its bytes arrived', async () => {
    const first = blob('complete part');
    const cut = blob('the part that is cut off');
    const { body, contentType } = multipartBody([first, cut]);
    // Cut right after the second part's data: its digest would match, but its end never came.
    const end = body.indexOf(cut.data) + cut.data.length;
    for (const at of [end, end + 2, end - 3]) {
      const parsed = await readBlobParts(body.subarray(0, at), contentType, MAX_BLOB_SIZE);
      assert.ok(!refsOf(parsed).includes(cut.name), `cut at ${at}`);
      assert.ok(
        parsed.refused.some((r) => /malformed|unexpected end/i.test(r)),
        parsed.refused.join('; '),
      );
    }
  });

  it('answers garbage in a multipart envelope without crashing or yielding blobs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        const parsed = await readBlobParts(Buffer.from(bytes), 'multipart/form-data; boundary=xyz', MAX_BLOB_SIZE);
        assert.deepEqual(parsed.blobs, []);
      }),
      { numRuns: 200 },
    );
  });
});

describe('multipart upload engine: content type', () => {
  const isHttp400 = (err: unknown) => err instanceof HttpError && err.status === 400;

  for (const type of [undefined, '', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/mixed; boundary=abc']) {
    it(`refuses ${JSON.stringify(type)} with HttpError 400`, async () => {
      const { body } = multipartBody([blob('x')]);
      await assert.rejects(async () => readBlobParts(body, type, MAX_BLOB_SIZE), isHttp400);
    });
  }

  it('reads quoted and case-varied boundaries', () => {
    assert.equal(multipartBoundary('multipart/form-data; boundary="a b:c"'), 'a b:c');
    assert.equal(multipartBoundary('Multipart/Form-Data; charset=utf-8; BOUNDARY=xyz'), 'xyz');
  });
});

describe('partsWithContentType (raw header scan)', () => {
  it('reports, per form-data part, whether it has a Content-Type header', () => {
    const { body } = multipartBody(
      [{ ...blob('a'), contentType: null }, blob('b'), { ...blob('c'), contentType: 'text/plain' }, { ...blob('d'), contentType: null }],
      'bnd',
    );
    assert.deepEqual(partsWithContentType(body, 'bnd'), [false, true, true, false]);
  });

  it('finds the first part after a preamble and ignores epilogue', () => {
    const { body } = multipartBody([blob('a')], 'bnd');
    const framed = Buffer.concat([
      Buffer.from('preamble text\r\n'),
      body,
      Buffer.from('epilogue\r\n--bnd\r\nContent-Disposition: form-data; name="x"\r\n\r\n'),
    ]);
    assert.deepEqual(partsWithContentType(framed, 'bnd'), [true]);
  });
});

describe('multipart upload engine: parts busboy skips', () => {
  const raw = (disposition: string, type: string | null, data: Buffer) =>
    Buffer.concat([Buffer.from(`--bnd\r\nContent-Disposition: ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`), data, Buffer.from('\r\n')]);
  const untyped = Buffer.from('untyped');
  const typed = Buffer.from('typed');
  const bodyAfter = (skipped: string) =>
    Buffer.concat([
      raw(skipped, 'application/octet-stream', Buffer.from('ignored')),
      raw(`form-data; name="${blobRefOf(untyped)}"; filename="u"`, null, untyped),
      raw(`form-data; name="${blobRefOf(typed)}"; filename="t"`, 'application/octet-stream', typed),
      Buffer.from('--bnd--\r\n'),
    ]);

  it('a part that is not form-data does not shift the Content-Type check onto the next parts', async () => {
    const parsed = await readBlobParts(bodyAfter('form-data-x; name="junk"'), 'multipart/form-data; boundary=bnd', MAX_BLOB_SIZE);
    assert.deepEqual(
      parsed.blobs.map((b) => b.ref),
      [blobRefOf(typed)],
    );
    assert.match(parsed.refused.join('\n'), new RegExp(`^${blobRefOf(untyped)}: .*Content-Type`, 'm'));
  });

  it('an unreadable Content-Disposition refuses the whole body rather than misattribute headers', async () => {
    const parsed = await readBlobParts(bodyAfter('form-data; name="unterminated'), 'multipart/form-data; boundary=bnd', MAX_BLOB_SIZE);
    assert.deepEqual(parsed.blobs, []);
    assert.match(parsed.refused.join('\n'), /malformed multipart body/);
  });
});

describe('multipart upload engine: parts per request (issue 8 item 4)', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => blob(`part ${i}`));

  it(`accepts ${MAX_PARTS_PER_REQUEST} parts`, async () => {
    const parsed = await parse(many(MAX_PARTS_PER_REQUEST));
    assert.equal(parsed.blobs.length, MAX_PARTS_PER_REQUEST);
    assert.deepEqual(parsed.refused, []);
  });

  it(`refuses ${MAX_PARTS_PER_REQUEST + 1} parts whole with 400 naming the cap`, async () => {
    await assert.rejects(parse(many(MAX_PARTS_PER_REQUEST + 1)), (err) => {
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 400);
      assert.match(err.message, new RegExp(`at most ${MAX_PARTS_PER_REQUEST} per upload request`));
      return true;
    });
  });

  it('counts parts our header scan cannot see (no Content-Disposition) too', async () => {
    const { body, contentType } = multipartBody(many(MAX_PARTS_PER_REQUEST));
    const boundary = multipartBoundary(contentType);
    const stray = Buffer.from(`--${boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n`);
    await assert.rejects(readBlobParts(Buffer.concat([stray, body]), contentType, MAX_BLOB_SIZE), (err) => err instanceof HttpError && err.status === 400);
  });
});
