import type { BlobData } from '../../client/blobref.js';
import { blobRefOf } from '../../client/hash.js';
import { bytesSchema, fileSchema, type BytesPart, type CommonAttributes, type SchemaBlob } from '../../client/schema.js';

/**
 * The chunker as it was before the split search was rewritten (client/chunker.ts and
 * client/rollsum.ts at commit 886b27a): a rolling checksum object stepped byte by byte, chunks
 * concatenated from the reads. Kept only as the reference the property test compares the
 * current chunker with (test/unit/client-chunker.test.ts); boundaries and refs must agree.
 */
const WINDOW = 64;
const CHAR_OFFSET = 31;
const BLOB_BITS = 13;
const SPLIT_MASK = (1 << BLOB_BITS) - 1;

export class RollSum {
  s1 = WINDOW * CHAR_OFFSET;
  s2 = WINDOW * (WINDOW - 1) * CHAR_OFFSET;
  private readonly window = new Uint8Array(WINDOW);
  private wofs = 0;

  /**
   * Rolls buf[from..to) and stops just after the first byte, at index `splitFrom` or later,
   * after which s2's low 13 bits are all set (a candidate chunk boundary): returns the index past that byte, or -1 having rolled all.
   * The same arithmetic as `roll`, in locals: this loop sees every byte of every file.
   */
  rollUntilSplit(buf: Uint8Array, from: number, to: number, splitFrom: number): number {
    const w = this.window;
    let { s1, s2, wofs } = this;
    let found = -1;
    for (let i = from; i < to; i++) {
      const ch = buf[i]!;
      const drop = w[wofs]!;
      w[wofs] = ch;
      wofs = (wofs + 1) & (WINDOW - 1);
      s1 = (s1 + ch - drop) >>> 0;
      s2 = (s2 + s1 - WINDOW * (drop + CHAR_OFFSET)) >>> 0;
      if ((s2 & SPLIT_MASK) === SPLIT_MASK && i >= splitFrom) {
        found = i + 1;
        break;
      }
    }
    this.s1 = s1;
    this.s2 = s2;
    this.wofs = wofs;
    return found;
  }

  digest(): number {
    return ((this.s1 << 16) | (this.s2 & 0xffff)) >>> 0;
  }

  /** How "strong" this boundary is: 13 + the trailing one bits above the split mask. */
  bits(): number {
    const inverted = ~(this.digest() >>> (BLOB_BITS + 1)) >>> 0;
    return BLOB_BITS + (inverted === 0 ? 32 : 31 - Math.clz32(inverted & -inverted));
  }
}

const MAX_CHUNK_SIZE = 1 << 20;
const FIRST_CHUNK_SIZE = 256 << 10;
const TOO_SMALL_THRESHOLD = 64 << 10;

interface Span {
  from: number;
  to: number;
  bits: number;
  ref: string;
  children: Span[];
}

const spanSize = (s: Span): number => s.to - s.from + s.children.reduce((n, c) => n + spanSize(c), 0);

/**
 * Always a copy, even of a single piece: a piece may be a view on the stream's read buffer, which
 * a source may reuse, and a view of a 64 KiB chunk would pin the whole read buffer meanwhile.
 */
function concat(pieces: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads `source` and yields every blob of the file: the chunks as they are cut (one chunk
 * in memory at a time, at most 1 MiB), then the `bytes` schemas, then the `file` schema last.
 * The caller's `attrs` fill the file schema's metadata (name, mode, owner, times).
 */
export async function* referenceFileBlobs(source: AsyncIterable<Uint8Array>, attrs: CommonAttributes): AsyncGenerator<BlobData, SchemaBlob> {
  const rs = new RollSum();
  const spans: Span[] = [];
  let n = 0; // bytes read so far
  let last = 0; // where the current chunk started
  let pieces: Uint8Array[] = [];

  const cut = (bits: number): BlobData => {
    const bytes = concat(pieces, n - last);
    pieces = [];
    let from = spans.length;
    while (from > 0 && spans[from - 1]!.bits < bits) from--;
    const children = spans.splice(from);
    const ref = blobRefOf(bytes);
    spans.push({ from: last, to: n, bits, ref, children });
    last = n;
    return { ref, bytes };
  };

  for await (const buf of source) {
    let i = 0;
    let pieceStart = 0;
    while (i < buf.length) {
      // The next forced cut: the chunk reaching 1 MiB, or the file reaching 256 KiB.
      const untilMax = MAX_CHUNK_SIZE - (n - last);
      const end = Math.min(buf.length, i + Math.min(untilMax, n < FIRST_CHUNK_SIZE ? FIRST_CHUNK_SIZE - n : Infinity));
      // A rolling-checksum cut counts once the file is past 256 KiB and the chunk past 64 KiB.
      const splitFrom = i + Math.max(0, FIRST_CHUNK_SIZE - n, TOO_SMALL_THRESHOLD - (n - last));
      const hit = rs.rollUntilSplit(buf, i, end, splitFrom);
      const stop = hit >= 0 ? hit : end;
      n += stop - i;
      i = stop;
      let bits: number;
      if (n - last === MAX_CHUNK_SIZE) bits = 20;
      else if (hit >= 0) bits = rs.bits();
      else if (n === FIRST_CHUNK_SIZE && stop === end) bits = 18;
      else continue;
      pieces.push(buf.subarray(pieceStart, i));
      pieceStart = i;
      yield cut(bits);
    }
    // A copy: the stream may reuse its buffer for the next read.
    if (pieceStart < buf.length) pieces.push(buf.slice(pieceStart));
  }
  if (n !== last) yield cut(0);

  const schemas: SchemaBlob[] = [];
  const parts = bytesParts(spans, schemas);
  for (const s of schemas) yield { ref: s.ref, bytes: s.bytes };
  const file = fileSchema(attrs, parts);
  yield { ref: file.ref, bytes: file.bytes };
  return file;
}

/** The `parts` list of these spans, adding the `bytes` schemas it refers to to `out` (children first). */
function bytesParts(spans: readonly Span[], out: SchemaBlob[]): BytesPart[] {
  const parts: BytesPart[] = [];
  for (const sp of spans) {
    let children = sp.children;
    if (children.length === 1 && children[0]!.children.length === 0) {
      // A bytes schema holding a single chunk would be a useless indirection: inline the chunk.
      parts.push({ blobRef: children[0]!.ref, size: spanSize(children[0]!) });
      children = [];
    }
    if (children.length > 0) {
      const nested = bytesSchema(bytesParts(children, out));
      out.push(nested);
      parts.push({ bytesRef: nested.ref, size: children.reduce((s, c) => s + spanSize(c), 0) });
    }
    parts.push({ blobRef: sp.ref, size: sp.to - sp.from });
  }
  return parts;
}
