/**
 * multipart/form-data bodies built from blobs (a batch is bounded by the server's
 * maxUploadSize, so it is small), with their exact size known before they are built. A body is
 * first a list of pieces (part heads, the blobs themselves, the delimiters), joined into one
 * buffer only when sent (`bodyBytes`): one copy of the blobs. Streaming the pieces instead
 * measured slower: fetch copies each streamed piece and writes it on its own.
 */
const encoder = new TextEncoder();

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array | string;
}

export interface MultipartBody {
  pieces: Uint8Array[];
  /** Bytes of all the pieces: the Content-Length. */
  length: number;
  contentType: string;
}

export const newBoundary = () => 'blobserver' + Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join('');

function partHead(boundary: string, p: FormPart): string {
  const disposition = `form-data; name="${p.name}"` + (p.filename === undefined ? '' : `; filename="${p.filename}"`);
  return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n` + (p.contentType ? `Content-Type: ${p.contentType}\r\n` : '') + '\r\n';
}

/** UTF-8 length of a string without encoding it when it is ASCII (refs and boundaries are). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  return s.length;
}

/** Bytes a blob part adds to a body (head + data + CRLF), for packing batches under a limit. */
export function blobPartSize(boundary: string, ref: string, size: number): number {
  return utf8Length(partHead(boundary, blobPart(ref, EMPTY))) + size + 2;
}

const EMPTY = new Uint8Array(0);

/** Bytes the closing delimiter adds. */
export const closingSize = (boundary: string) => boundary.length + 6;

export const blobPart = (ref: string, data: Uint8Array): FormPart => ({ name: ref, filename: ref, contentType: 'application/octet-stream', data });

/** The body's pieces: each part's CRLF is joined to the next head, so two pieces per part. */
export function multipartBody(boundary: string, parts: readonly FormPart[]): MultipartBody {
  const pieces: Uint8Array[] = [];
  let text = '';
  for (const p of parts) {
    text += partHead(boundary, p);
    if (typeof p.data === 'string') {
      text += p.data;
    } else {
      pieces.push(encoder.encode(text), p.data);
      text = '';
    }
    text += '\r\n';
  }
  pieces.push(encoder.encode(`${text}--${boundary}--\r\n`));
  return { pieces, length: pieces.reduce((n, p) => n + p.length, 0), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The body as one buffer, what fetch is given. */
export function bodyBytes(body: MultipartBody): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(body.length);
  let at = 0;
  for (const p of body.pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
