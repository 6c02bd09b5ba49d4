import busboy from 'busboy';
import { hasherFor, parseBlobRef } from '../blobref.js';
import { REFUSE } from '../http/errors.js';
import { MAX_PARTS_PER_REQUEST } from '../limits.js';

/**
 * Parses a multipart/form-data upload body with busboy, hashing every part while it is read.
 * Only parts whose digest matches their name come back as blobs; every other part is
 * refused with a reason, and the rest of the body is still processed.
 */

export interface VerifiedBlob {
  ref: string;
  bytes: Buffer;
}

export interface ParsedUpload {
  blobs: VerifiedBlob[];
  refused: string[];
}

export function multipartBoundary(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (type !== 'multipart/form-data' || !boundary) {
    throw REFUSE.multipartExpected();
  }
  return (boundary[1] ?? boundary[2])!;
}

/**
 * Whether each form-data part, in order, has a Content-Type header. busboy reports a missing
 * one as text/plain, but the protocol requires the header, so we look at the raw part headers.
 */
export function partsWithContentType(body: Buffer, boundary: string): boolean[] {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const result: boolean[] = [];
  // The first delimiter may start the body without a preceding CRLF.
  let pos = body.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2)) ? -2 : body.indexOf(delimiter);
  while (pos !== -1) {
    const afterDelimiter = pos + delimiter.length;
    if (body[afterDelimiter] === 0x2d && body[afterDelimiter + 1] === 0x2d) break; // closing delimiter
    const lineEnd = body.indexOf('\r\n', afterDelimiter);
    if (lineEnd === -1) break;
    const headersEnd = body.indexOf('\r\n\r\n', lineEnd);
    if (headersEnd === -1) break;
    const headers = body.subarray(lineEnd + 2, headersEnd).toString('latin1');
    if (/^content-disposition:[ \t]*form-data[ \t]*(;|$)/im.test(headers)) result.push(/^content-type:/im.test(headers));
    pos = body.indexOf(delimiter, headersEnd + 4);
  }
  return result;
}

function tooManyParts() {
  return REFUSE.tooManyParts(MAX_PARTS_PER_REQUEST);
}

export async function readBlobParts(body: Buffer, contentType: string | undefined, maxBlobSize: number): Promise<ParsedUpload> {
  const boundary = multipartBoundary(contentType);
  const hasContentType = partsWithContentType(body, boundary);
  // Refused whole, before any part is hashed or stored.
  if (hasContentType.length > MAX_PARTS_PER_REQUEST) throw tooManyParts();
  const blobs: VerifiedBlob[] = [];
  const refused: string[] = [];
  let ordinal = 0;

  return new Promise<ParsedUpload>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { 'content-type': contentType! },
        // Parts our scan did not count (no form-data disposition) count here: busboy says
        // 'partsLimit' once it has seen `parts`, so one more than we allow.
        limits: { fileSize: maxBlobSize + 1, fieldSize: 1024, parts: MAX_PARTS_PER_REQUEST + 1, files: Infinity, fields: Infinity },
      });
    } catch (err) {
      refused.push(`malformed multipart body: ${(err as Error).message}`);
      return resolve({ blobs, refused });
    }

    const check = (name: string | undefined, n: number): ReturnType<typeof parseBlobRef> | string => {
      if (!name) return `part ${n} has no name`;
      const ref = parseBlobRef(name);
      if (!ref) return `part ${n}: ${JSON.stringify(name.slice(0, 100))} is not a valid blobref`;
      if (hasContentType[n - 1] === false) return `${name}: part has no Content-Type header`;
      return ref;
    };

    bb.on('file', (name, stream, _info) => {
      const n = ++ordinal;
      const ref = check(name, n);
      if (typeof ref === 'string' || ref === undefined) {
        refused.push(ref ?? `part ${n} refused`);
        stream.resume();
        return;
      }
      const hash = hasherFor(ref);
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
        chunks.push(chunk);
      });
      stream.on('limit', () => refused.push(`${ref.ref}: larger than the ${maxBlobSize}-byte blob limit`));
      stream.on('end', () => {
        if ((stream as unknown as { truncated?: boolean }).truncated) return; // reported by 'limit'
        if (hash.digest('hex') !== ref.digest) {
          refused.push(`${ref.ref}: content does not match its digest (${size} bytes received)`);
          return;
        }
        blobs.push({ ref: ref.ref, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
      });
      // A part cut off by a malformed body errors instead of ending: its bytes are dropped.
      stream.on('error', () => undefined);
    });

    bb.on('field', (name) => {
      const n = ++ordinal;
      const ref = check(name, n);
      refused.push(
        typeof ref === 'string' || ref === undefined
          ? (ref ?? `part ${n} refused`)
          : `${ref.ref}: send blob bytes as a file part (with a filename, or Content-Type: application/octet-stream)`,
      );
    });

    let overLimit = false;
    bb.on('partsLimit', () => (overLimit = true));
    bb.on('error', (err: Error) => {
      refused.push(`malformed multipart body: ${err.message}`);
      resolve({ blobs, refused });
    });
    bb.on('close', () => {
      if (overLimit) return reject(tooManyParts());
      // The Content-Type flags are matched to busboy's parts by position. If busboy skipped a
      // part our scan counted (an unparseable Content-Disposition), that match is unreliable,
      // so such a body is refused whole rather than risk checking the wrong part.
      if (ordinal !== hasContentType.length) {
        return resolve({ blobs: [], refused: [...refused, 'malformed multipart body: a part has an unreadable Content-Disposition'] });
      }
      resolve({ blobs, refused });
    });
    bb.end(body);
  });
}
