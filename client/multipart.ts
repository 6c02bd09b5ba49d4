/**
 * multipart/form-data bodies built in memory from blobs (a batch is bounded by the server's
 * maxUploadSize, so it is small), with their exact size known before they are built.
 */
const encoder = new TextEncoder();

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array | string;
}

export const newBoundary = () => 'blobserver' + Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join('');

function partHead(boundary: string, p: FormPart): string {
  const disposition = `form-data; name="${p.name}"` + (p.filename === undefined ? '' : `; filename="${p.filename}"`);
  return `--${boundary}\r\nContent-Disposition: ${disposition}\r\n` + (p.contentType ? `Content-Type: ${p.contentType}\r\n` : '') + '\r\n';
}

/** Bytes a blob part adds to a body (head + data + CRLF), for packing batches under a limit. */
export function blobPartSize(boundary: string, ref: string, size: number): number {
  return encoder.encode(partHead(boundary, blobPart(ref, new Uint8Array(0)))).length + size + 2;
}

/** Bytes the closing delimiter adds. */
export const closingSize = (boundary: string) => boundary.length + 6;

export const blobPart = (ref: string, data: Uint8Array): FormPart => ({ name: ref, filename: ref, contentType: 'application/octet-stream', data });

export function multipartBody(boundary: string, parts: readonly FormPart[]): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const pieces = parts.flatMap((p) => [
    encoder.encode(partHead(boundary, p)),
    typeof p.data === 'string' ? encoder.encode(p.data) : p.data,
    encoder.encode('\r\n'),
  ]);
  pieces.push(encoder.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    body.set(p, at);
    at += p.length;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
