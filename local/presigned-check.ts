import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';

/**
 * SigV4 query-string (presigned URL) checks as S3 makes them, for the local S3 front:
 * s3rver accepts any V4 signature from a known access key, so without this a presigned URL
 * with a tampered signed header (a widened Range), or an expired one, would be served. The
 * signature is recomputed with the SDK's own presigner over what the request carries.
 */

export interface SigningKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

export type PresignedVerdict = { ok: true } | { ok: false; status: number; code: string; message: string };

/**
 * The URL with its `X-Amz-*` query names in their canonical case. S3 takes those names
 * case-insensitively, so a URL whose names were lower-cased is the same grant and must be
 * checked as such (checked under the lower-case names, it would pass as "not presigned").
 */
export function canonicalAmzQuery(url: URL): URL {
  const out = new URL(url);
  const entries = [...url.searchParams].map(([k, v]): [string, string] => [/^x-amz-/i.test(k) ? canonicalAmzName(k) : k, v]);
  out.search = new URLSearchParams(entries).toString();
  return out;
}

const AMZ_NAMES = ['X-Amz-SignedHeaders'];
/** `x-amz-content-sha256` -> `X-Amz-Content-Sha256`; SignedHeaders is the one name not in that pattern. */
const canonicalAmzName = (name: string) =>
  AMZ_NAMES.find((n) => n.toLowerCase() === name.toLowerCase()) ??
  name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

/** Whether the request is (or claims to be) a presigned one: any X-Amz-* query name, in any case. */
export function isPresigned(url: URL): boolean {
  return [...url.searchParams.keys()].some((k) => /^x-amz-(algorithm|signature|credential)$/i.test(k));
}

/** node:crypto as the signer's hash constructor (a secret makes it an HMAC). */
export class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.h.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
}

const bytesOf = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

export type Refusal = { ok: false; status: number; code: string; message: string };
export const refused = (status: number, code: string, message: string): Refusal => ({ ok: false, status, code, message });

/** `YYYYMMDDTHHMMSSZ` as a Date. */
export function amzDate(raw: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(raw);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : undefined;
}

export async function verifyPresigned(req: IncomingMessage, asked: URL, keys: SigningKeys, now = Date.now()): Promise<PresignedVerdict> {
  const url = canonicalAmzQuery(asked);
  const q = url.searchParams;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !q.has('X-Amz-Signature'))
    return refused(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm must be AWS4-HMAC-SHA256 and X-Amz-Signature present');
  const [accessKeyId, , region, service] = (q.get('X-Amz-Credential') ?? '').split('/');
  if (accessKeyId !== keys.accessKeyId) return refused(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (!region || !service) return refused(400, 'AuthorizationQueryParametersError', 'X-Amz-Credential must be <key>/<date>/<region>/<service>/aws4_request');
  const signedAt = amzDate(q.get('X-Amz-Date') ?? '');
  const expires = Number(q.get('X-Amz-Expires'));
  if (!signedAt || !Number.isInteger(expires) || expires < 1 || expires > 604800)
    return refused(400, 'AuthorizationQueryParametersError', 'X-Amz-Date and X-Amz-Expires must be valid');
  if (now > signedAt.getTime() + expires * 1000) return refused(403, 'AccessDenied', 'Request has expired');

  const signed = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = req.headers[name];
    if (value === undefined) return refused(403, 'SignatureDoesNotMatch', `signed header ${name} is missing`);
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of q) {
    if (k === 'X-Amz-Signature') continue;
    const prev = query[k];
    query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  // Only the key pair: the session token signed is the URL's own (the presigner would put its own in).
  const presigner = new S3RequestPresigner({
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
    region,
    service,
    sha256: Sha256,
  });
  const again = await presigner.presign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
    },
    { signingDate: signedAt, expiresIn: expires, signableHeaders: new Set(signed) },
  );
  const expected = Buffer.from(String(again.query?.['X-Amz-Signature']));
  const given = Buffer.from(q.get('X-Amz-Signature') ?? '');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return refused(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
  return { ok: true };
}

/** S3's XML error body. */
export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message.replace(/[<>&]/g, '')}</Message></Error>`;
}
