import type { BlobData } from './blobref.js';
import { blobRefOf } from './hash.js';
import { findSplit, splitBits, WINDOW, type RollState } from './rollsum.js';
import { bytesSchema, fileSchema, type BytesPart, type CommonAttributes, type SchemaBlob } from './schema.js';

/**
 * Cuts a byte stream into chunks and builds the `file` schema exactly as Perkeep's
 * schema.WriteFileMap does (pkg/schema/filewriter.go): a chunk ends where the rolling
 * checksum says so once the file is past its first 256 KiB and the chunk past 64 KiB, at
 * exactly 256 KiB into the file, or at 1 MiB; each cut gets a weight (`bits`), and earlier
 * lighter chunks become the children of a heavier one, which is how `bytes` schemas nest.
 */

export const MAX_CHUNK_SIZE = 1 << 20;
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

/** A copy of buf[from, to), whatever its class (Buffer's slice is a view). */
function copyOf(buf: Uint8Array, from: number, to = buf.length): Uint8Array {
  const out = new Uint8Array(to - from);
  out.set(buf.subarray(from, to));
  return out;
}

function concat(pieces: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface FileBlobsOptions {
  /**
   * Whether the source may overwrite a buffer it yielded once asked for the next (a read buffer
   * used again): then every chunk is a copy (the default). A source that yields fresh buffers
   * says false, and a chunk within one of them is a view of it, not a copy (it keeps that buffer
   * alive until the chunk is dropped).
   */
  reusesBuffers?: boolean | undefined;
}

/**
 * Reads `source` and yields every blob of the file: the chunks as they are cut (one chunk
 * in memory at a time, at most 1 MiB), then the `bytes` schemas, then the `file` schema last.
 * The caller's `attrs` fill the file schema's metadata (name, mode, owner, times).
 */
export async function* fileBlobs(
  source: AsyncIterable<Uint8Array>,
  attrs: CommonAttributes,
  options: FileBlobsOptions = {},
): AsyncGenerator<BlobData, SchemaBlob> {
  const copy = options.reusesBuffers !== false;
  const spans: Span[] = [];
  const state: RollState = { s1: 0, s2: 0 };
  // The 64 bytes before the current read (the rolling window's history), zeros at the start.
  let before: Uint8Array = new Uint8Array(WINDOW);
  let n = 0; // bytes read so far
  let last = 0; // where the current chunk started
  let pieces: Uint8Array[] = [];

  const cut = (bytes: Uint8Array, bits: number): BlobData => {
    let from = spans.length;
    while (from > 0 && spans[from - 1]!.bits < bits) from--;
    const children = spans.splice(from);
    const ref = blobRefOf(bytes);
    spans.push({ from: last, to: n, bits, ref, children });
    last = n;
    return { ref, bytes };
  };
  /** The chunk ending at buf[i), whose earlier bytes are in `pieces`. */
  const chunk = (buf: Uint8Array, pieceStart: number, i: number): Uint8Array => {
    if (!pieces.length) return copy ? copyOf(buf, pieceStart, i) : buf.subarray(pieceStart, i);
    pieces.push(buf.subarray(pieceStart, i));
    const bytes = concat(pieces, n - last);
    pieces = [];
    return bytes;
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
      const j = splitFrom < end ? findSplit(buf, splitFrom, end, before, state) : -1;
      const stop = j >= 0 ? j + 1 : end;
      n += stop - i;
      i = stop;
      let bits: number;
      if (n - last === MAX_CHUNK_SIZE) bits = 20;
      else if (j >= 0) bits = splitBits(state);
      else if (n === FIRST_CHUNK_SIZE && stop === end) bits = 18;
      else continue;
      const bytes = chunk(buf, pieceStart, i);
      pieceStart = i;
      yield cut(bytes, bits);
    }
    if (pieceStart < buf.length) pieces.push(copy ? copyOf(buf, pieceStart) : buf.subarray(pieceStart));
    before = windowAfter(before, buf);
  }
  if (n !== last) yield cut(pieces.length === 1 ? pieces[0]! : concat(pieces, n - last), 0);

  const schemas: SchemaBlob[] = [];
  const parts = bytesParts(spans, schemas);
  for (const s of schemas) yield { ref: s.ref, bytes: s.bytes };
  const file = fileSchema(attrs, parts);
  yield { ref: file.ref, bytes: file.bytes };
  return file;
}

/** The 64 bytes ending `buf`, preceded by `before`'s when it is shorter (a copy: buf may be reused). */
function windowAfter(before: Uint8Array, buf: Uint8Array): Uint8Array {
  if (buf.length >= WINDOW) return copyOf(buf, buf.length - WINDOW);
  const out = new Uint8Array(WINDOW);
  out.set(before.subarray(buf.length));
  out.set(buf, WINDOW - buf.length);
  return out;
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
