import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fileBlobs } from '../../client/chunker.js';
import { compareUtf8 } from '../../client/go-json.js';
import { findSplit, splitBits, WINDOW, type RollState } from '../../client/rollsum.js';
import { referenceFileBlobs, RollSum } from '../support/chunker-reference.js';

/**
 * The chunker's split search starts from the 64 bytes before an offset instead of rolling every
 * byte (client/rollsum.ts), and hands out views of fresh read buffers: the boundaries, refs and
 * schemas must be exactly those of the chunker it replaced, which rolled byte by byte
 * (test/support/chunker-reference.ts; both are checked against Perkeep's own vectors in
 * client-schema.test.ts). Inputs mix random bytes, small alphabets and runs of one byte, so
 * boundaries are frequent, rare, forced at 256 KiB and 1 MiB.
 */

/** Bytes from a seed: segments of xorshift bytes over an alphabet of `alphabet` values, or runs of one byte. */
function bytesOf(seed: number, size: number, alphabet: number, runEvery: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const segment = Math.floor(i / 100_000);
    out[i] = runEvery > 0 && segment % runEvery === runEvery - 1 ? segment & 0xff : (x >>> 24) % alphabet;
  }
  return out;
}

const input = fc.record({
  seed: fc.integer(),
  size: fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 250_000, max: 2_600_000 })),
  alphabet: fc.constantFrom(256, 256, 2, 3, 17),
  runEvery: fc.constantFrom(0, 0, 2, 3),
  readSize: fc.oneof(fc.constant(8 << 20), fc.integer({ min: 1_000, max: 300_000 })),
});

async function* reads(data: Uint8Array, size: number, fresh: boolean): AsyncGenerator<Uint8Array> {
  const reused = new Uint8Array(size);
  for (let at = 0; at < data.length; at += size) {
    const piece = data.subarray(at, at + size);
    if (fresh) {
      yield piece.slice();
    } else {
      reused.set(piece);
      yield reused.subarray(0, piece.length);
    }
  }
}

async function blobsOf(gen: AsyncGenerator<{ ref: string; bytes: Uint8Array }>): Promise<{ ref: string; size: number }[]> {
  const out: { ref: string; size: number }[] = [];
  for await (const b of gen) out.push({ ref: b.ref, size: b.bytes.length });
  return out;
}

describe('the chunker cuts where the byte-by-byte chunker it replaced cut', () => {
  it('findSplit finds the first candidate boundary the rolling checksum finds, with the same weight', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 40_000 }),
        fc.integer({ min: 0, max: 40_000 }),
        fc.constantFrom(256, 2, 5),
        (seed, size, start, alphabet) => {
          const data = bytesOf(seed, size, alphabet, 0);
          const from = Math.min(start, size - 1);
          // The reference rolls everything before `from` too; the rewrite looks only at `before` + buf.
          const rs = new RollSum();
          const want = rs.rollUntilSplit(data, 0, size, from);
          // Split the data at a random point so `before` is used for the window's first bytes.
          const cutAt = Math.max(0, from - (seed & 63));
          const before = new Uint8Array(WINDOW);
          const head = data.subarray(Math.max(0, cutAt - WINDOW), cutAt);
          before.set(head, WINDOW - head.length);
          const state: RollState = { s1: 0, s2: 0 };
          const got = findSplit(data.subarray(cutAt), from - cutAt, size - cutAt, before, state);
          assert.equal(got < 0 ? -1 : got + cutAt + 1, want);
          if (want >= 0) assert.equal(splitBits(state), rs.bits());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fileBlobs gives the old chunker blobs, in its order, from fresh or reused read buffers', async () => {
    await fc.assert(
      fc.asyncProperty(input, fc.boolean(), async ({ seed, size, alphabet, runEvery, readSize }, fresh) => {
        const data = bytesOf(seed, size, alphabet, runEvery);
        const attrs = { fileName: 'f', mtimeNs: 0n };
        const want = await blobsOf(referenceFileBlobs(reads(data, readSize, false), attrs));
        const got = await blobsOf(fileBlobs(reads(data, readSize, fresh), attrs, { reusesBuffers: !fresh }));
        assert.deepEqual(got, want);
      }),
      { numRuns: 30 },
    );
  });
});

describe('compareUtf8', () => {
  it('orders strings as their UTF-8 bytes, surrogates and lone surrogates included', () => {
    const utf8 = (s: string) => Buffer.from(new TextEncoder().encode(s));
    const unit = fc.oneof(
      fc.constantFrom('\uD83D', '\uDE00', '\uDBFF', '\uDC00', '\uE000', '\uFFFF', 'a', 'é', '\u0000'),
      fc.string({ unit: 'binary', maxLength: 2 }),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 5 }), fc.array(unit, { maxLength: 5 }), (x, y) => {
        const [a, b] = [x.join(''), y.join('')];
        for (const [p, q] of [
          [a, b],
          [a, a + b],
        ] as const)
          assert.equal(Math.sign(compareUtf8(p, q)), Math.sign(Buffer.compare(utf8(p), utf8(q))), JSON.stringify([p, q]));
      }),
      { numRuns: 2_000 },
    );
  });
});
