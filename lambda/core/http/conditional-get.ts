/**
 * HTTP caching and partial GETs for blobs (RFC 9110 sections 13 and 14). A blob never changes,
 * so its blobref is a strong validator: the ETag is the quoted blobref, `If-None-Match`
 * naming it is answered 304, and a single byte range (`Range: bytes=...`) is answered 206.
 * Pure: it decides status and headers from the request headers, the ref and the size.
 */

export interface ConditionalRequest {
  method: string;
  ifNoneMatch?: string | undefined;
  range?: string | undefined;
  ifRange?: string | undefined;
}

/** Inclusive byte offsets, as in Content-Range. */
export interface ByteRange {
  start: number;
  end: number;
}

export type GetPlan =
  | { status: 304; headers: Record<string, string> }
  | { status: 416; headers: Record<string, string> }
  | { status: 200; headers: Record<string, string> }
  | { status: 206; headers: Record<string, string>; range: ByteRange };

export function etagOf(ref: string): string {
  return `"${ref}"`;
}

/** Entity tags in an If-None-Match / If-Range value; `*` stands for any. */
function entityTags(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** If-None-Match uses the weak comparison: W/"x" matches "x". */
function noneMatchHits(value: string, etag: string): boolean {
  return entityTags(value).some((t) => t === '*' || t.replace(/^W\//, '') === etag);
}

/**
 * The one range asked for, 'unsatisfiable', or undefined when the header is to be ignored
 * (absent, not bytes, malformed, or several ranges: a server may answer those with the whole
 * representation, which spares us multipart/byteranges).
 */
export function parseRange(value: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = /^bytes=\s*(\d*)-(\d*)\s*$/i.exec(value ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return undefined; // invalid: ignored, not refused
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(last, size - 1) };
}

export function planGet(request: ConditionalRequest, ref: string, size: number): GetPlan {
  const etag = etagOf(ref);
  const common = { etag, 'accept-ranges': 'bytes' };
  if (request.ifNoneMatch !== undefined && noneMatchHits(request.ifNoneMatch, etag)) return { status: 304, headers: { etag } };
  // Range applies to GET only, and If-Range (strong comparison) keeps it only for our validator.
  const rangeApplies = request.method === 'GET' && (request.ifRange === undefined || request.ifRange.trim() === etag);
  const range = rangeApplies ? parseRange(request.range, size) : undefined;
  if (range === 'unsatisfiable') return { status: 416, headers: { ...common, 'content-range': `bytes */${size}` } };
  if (range === undefined) return { status: 200, headers: { ...common, 'content-length': String(size) } };
  return {
    status: 206,
    range,
    headers: { ...common, 'content-range': `bytes ${range.start}-${range.end}/${size}`, 'content-length': String(range.end - range.start + 1) },
  };
}
