import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blobRefOf, isBlobRef, parseBlobRef } from '../../lambda/core/blobref.js';

const SHA1_EMPTY = 'sha1-da39a3ee5e6b4b0d3255bfef95601890afd80709';
const SHA224_EMPTY = 'sha224-d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f';

describe('blobref parsing', () => {
  it('accepts lowercase sha1 and sha224 refs and splits hash from digest', () => {
    assert.deepEqual(parseBlobRef(SHA1_EMPTY), { hash: 'sha1', digest: SHA1_EMPTY.slice(5), ref: SHA1_EMPTY });
    assert.deepEqual(parseBlobRef(SHA224_EMPTY), { hash: 'sha224', digest: SHA224_EMPTY.slice(7), ref: SHA224_EMPTY });
  });

  const rejected: Record<string, string> = {
    'upper-case hex': SHA1_EMPTY.toUpperCase().replace('SHA1', 'sha1'),
    'one upper-case hex digit': SHA1_EMPTY.replace('da39', 'DA39'),
    'upper-case hash name': SHA1_EMPTY.replace('sha1', 'SHA1'),
    'sha1 digest one short': SHA1_EMPTY.slice(0, -1),
    'sha1 digest one long': SHA1_EMPTY + '0',
    'sha224 name with a sha1-length digest': 'sha224-' + SHA1_EMPTY.slice(5),
    'sha1 name with a sha224-length digest': 'sha1-' + SHA224_EMPTY.slice(7),
    'unknown hash': 'md5-d41d8cd98f00b204e9800998ecf8427e',
    'sha256 (not supported)': 'sha256-' + createHash('sha256').digest('hex'),
    'non-hex digit': SHA1_EMPTY.slice(0, -1) + 'g',
    'trailing newline': SHA1_EMPTY + '\n',
    'trailing space': SHA1_EMPTY + ' ',
    'leading space': ' ' + SHA1_EMPTY,
    'extra suffix': SHA1_EMPTY + '-x',
    'prefix before hash': 'xsha1-' + SHA1_EMPTY.slice(5),
    'missing dash': 'sha1' + SHA1_EMPTY.slice(5),
    'hash only': 'sha1-',
    empty: '',
    whitespace: '   ',
  };
  for (const [why, input] of Object.entries(rejected)) {
    it(`rejects ${why}`, () => {
      assert.equal(parseBlobRef(input), undefined);
      assert.equal(isBlobRef(input), false);
    });
  }

  it('computes refs of bytes under either hash', () => {
    assert.equal(blobRefOf(Buffer.alloc(0), 'sha1'), SHA1_EMPTY);
    assert.equal(blobRefOf(Buffer.alloc(0)), SHA224_EMPTY, 'sha224 is the default');
  });
});

describe('blobref properties', () => {
  const hashName = fc.constantFrom('sha1' as const, 'sha224' as const);

  it('every sha1/sha224 digest of random bytes parses back to itself', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), hashName, (bytes, hash) => {
        const ref = `${hash}-${createHash(hash).update(bytes).digest('hex')}`;
        const parsed = parseBlobRef(ref);
        assert.ok(parsed, ref);
        assert.equal(parsed.hash, hash);
        assert.equal(parsed.ref, ref);
        assert.equal(blobRefOf(bytes, hash), ref);
      }),
    );
  });

  /** Ways to damage a valid ref; each must leave something that is not a blobref. */
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('upper' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), ch: fc.constantFrom(...'0123456789abcdefgxyzA -_\n\t') }),
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), ch: fc.constantFrom(...'gxyzGXYZ _+/=\n\t.') }),
  );

  it('mutated refs do not parse', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), hashName, mutation, (bytes, hash, m) => {
        const ref = blobRefOf(bytes, hash);
        let mutated: string;
        if (m.kind === 'upper') {
          // Upper-case one hex letter of the digest (skip refs with an all-digit digest).
          const letters = [...ref].map((c, i) => (i > hash.length && /[a-f]/.test(c) ? i : -1)).filter((i) => i >= 0);
          fc.pre(letters.length > 0);
          const i = letters[m.at % letters.length]!;
          mutated = ref.slice(0, i) + ref.charAt(i).toUpperCase() + ref.slice(i + 1);
        } else if (m.kind === 'delete') {
          const i = m.at % ref.length;
          mutated = ref.slice(0, i) + ref.slice(i + 1);
        } else if (m.kind === 'insert') {
          const i = m.at % (ref.length + 1);
          mutated = ref.slice(0, i) + m.ch + ref.slice(i);
        } else {
          const i = m.at % ref.length;
          mutated = ref.slice(0, i) + m.ch + ref.slice(i + 1);
        }
        assert.equal(parseBlobRef(mutated), undefined, JSON.stringify(mutated));
      }),
    );
  });
});
