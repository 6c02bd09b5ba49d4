import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileBlobs } from '../../client/chunker.js';
import { createHash, randomBytes } from 'node:crypto';
import { blobRefOf, hashImplementation, nobleHasher } from '../../client/hash.js';
import { directorySchema, rfc3339, schemaBlob, staticSets } from '../../client/schema.js';

/**
 * Vectors in test/vectors/perkeep-schema.json were written by Perkeep's own code, not ours:
 * a small Go program (kept outside this repository) built against Perkeep's source tree
 * (perkeep.org/pkg/schema from a Perkeep source checkout, go4.org/rollsum v0.0.0-20230225012048) that,
 * for each input below, called schema.NewFileMap(fileName) + SetModTime(mtime) +
 * schema.WriteFileMap into a memory.Storage and dumped every stored blob (ref, size, and the
 * JSON of schema blobs); static-sets from schema.NewStaticSet().SetStaticSetMembers(members)
 * with member i = blob.RefFromString("member-<i>"); the directory from
 * schema.NewCommonFileMap("photos", a FileInfo with mode 0755|dir, that mtime and no owner)
 * + PopulateDirectoryMap(member 1). To regenerate, write that program again (inputs are
 * described by `input` in the file: xorshift32 bytes, zeros, or 200 000-byte runs of each)
 * and run it with `go run` in a module that `replace`s perkeep.org with a Perkeep checkout.
 */
interface Vectors {
  files: {
    input: { kind: 'rand' | 'zero' | 'mixed'; seed: number; size: number };
    fileName: string;
    mtime: string;
    fileRef: string;
    blobs: { ref: string; size: number; json?: string }[];
  }[];
  staticSets: { members: number; ref: string; json: string; subsets: { ref: string; size: number }[] | null }[];
  directory: { fileName: string; mode: string; mtime: string; entries: string; ref: string; json: string };
}
const vectors = JSON.parse(readFileSync(new URL('../vectors/perkeep-schema.json', import.meta.url), 'utf8')) as Vectors;

/** The generator's input bytes: xorshift32 (13, 17, 5), the top byte of each state. */
function inputBytes({ kind, seed, size }: Vectors['files'][number]['input']): Uint8Array {
  const out = new Uint8Array(size);
  if (kind === 'zero') return out;
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = kind === 'mixed' && Math.floor(i / 200_000) % 2 === 1 ? 0 : x >>> 24;
  }
  return out;
}

/** Feeds the bytes in reads of `readSize`, as a file stream would. */
async function* reads(bytes: Uint8Array, readSize: number) {
  for (let i = 0; i < bytes.length; i += readSize) yield bytes.subarray(i, i + readSize);
}

const nsOf = (iso: string) => {
  const [whole, frac = ''] = iso.replace('Z', '').split('.');
  return BigInt(Date.parse(whole + 'Z')) * 1_000_000n + BigInt(frac.padEnd(9, '0') || '0');
};

describe('client chunking and file schemas match Perkeep byte for byte', () => {
  for (const v of vectors.files) {
    it(`${v.input.kind} ${v.input.size} bytes (${JSON.stringify(v.fileName)})`, async () => {
      const data = inputBytes(v.input);
      // Odd read sizes: chunk boundaries must not depend on how the stream is cut.
      for (const readSize of [65_536, 7_919]) {
        const got = new Map<string, { size: number; json?: string }>();
        const gen = fileBlobs(reads(data, readSize), { fileName: v.fileName, mtimeNs: nsOf(v.mtime) });
        let last: string | undefined;
        for (let r = await gen.next(); !r.done; r = await gen.next()) {
          const b = r.value;
          assert.equal(blobRefOf(b.bytes), b.ref);
          const text = new TextDecoder().decode(b.bytes);
          got.set(b.ref, { size: b.bytes.length, ...(text.startsWith('{"camliVersion"') ? { json: text } : {}) });
          last = b.ref;
        }
        assert.equal(last, v.fileRef, 'the file schema is the last blob and has Perkeep ref');
        const expected = new Map(v.blobs.map((b) => [b.ref, { size: b.size, ...(b.json ? { json: b.json } : {}) }]));
        assert.deepEqual(new Map([...got].sort()), new Map([...expected].sort()));
      }
    });
  }

  it('chunks are their own bytes, even from a source that reuses one read buffer', async () => {
    const data = randomBytes(1_200_000);
    const readSize = 300_000; // several 64 KiB+ chunks can fall inside one read
    async function* reusing(): AsyncGenerator<Uint8Array> {
      const buf = new Uint8Array(readSize);
      for (let at = 0; at < data.length; at += readSize) {
        const n = Math.min(readSize, data.length - at);
        buf.set(data.subarray(at, at + n));
        yield buf.subarray(0, n);
      }
    }
    const kept: { ref: string; bytes: Uint8Array }[] = [];
    for await (const b of fileBlobs(reusing(), { fileName: 'f', mtimeNs: 0n })) kept.push(b);
    // Checked only after the whole file was read, when the buffer holds other bytes.
    for (const b of kept) assert.equal(blobRefOf(b.bytes), b.ref);
    assert.ok(kept.length > 3, `${kept.length} blobs`);
  });

  it('static-sets, including the mergeSets split of large directories', () => {
    for (const v of vectors.staticSets) {
      const members = Array.from({ length: v.members }, (_, i) => blobRefOf(`member-${i}`));
      const [top, ...subsets] = staticSets(members);
      assert.ok(top, 'a top set');
      assert.equal(top.ref, v.ref, `${v.members} members`);
      if (v.json) assert.equal(top.json, v.json);
      assert.deepEqual(
        subsets.map((s) => ({ ref: s.ref, size: s.bytes.length })),
        v.subsets ?? [],
      );
    }
  });

  it('directory schema', () => {
    const d = vectors.directory;
    const got = directorySchema({ fileName: d.fileName, permission: parseInt(d.mode, 8), mtimeNs: nsOf(d.mtime) }, d.entries);
    assert.equal(got.json, d.json);
    assert.equal(got.ref, d.ref);
  });

  it('canonical form starts with camliVersion and escapes as Go does', () => {
    const b = schemaBlob({ camliVersion: 1, camliType: 'file', fileName: '<&>\u2028\b\u0001', zeta: 1, alpha: [] });
    assert.equal(
      b.json,
      '{"camliVersion": 1,\n  "alpha": [],\n  "camliType": "file",\n  "fileName": "\\u003c\\u0026\\u003e\\u2028\\b\\u0001",\n  "zeta": 1\n}',
    );
  });

  it('hashes with node:crypto in Node, and the browser fallback gives the same digests', () => {
    assert.equal(hashImplementation, 'node:crypto');
    for (const size of [0, 1, 64, 1_000_003]) {
      const data = randomBytes(size);
      for (const name of ['sha224', 'sha1'] as const) {
        assert.equal(
          nobleHasher(name)
            .update(data.subarray(0, size >> 1))
            .update(data.subarray(size >> 1))
            .hex(),
          createHash(name).update(data).digest('hex'),
        );
      }
    }
  });

  it('times as RFC 3339 UTC, fractions only when present', () => {
    assert.equal(rfc3339(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
    assert.equal(rfc3339(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
    assert.equal(rfc3339(-1_500_000_000n), '1969-12-31T23:59:58.5Z');
  });
});
