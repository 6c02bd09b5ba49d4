import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { amzDate, refused, Sha256, type Refusal, type SigningKeys } from './presigned-check.js';
import { hashOf } from './s3-checksums.js';

/**
 * The two other ways a request to the local S3 front proves who sent it, as S3 checks them
 * (presigned URLs are presigned-check.ts): a SigV4 Authorization header (the server's own SDK
 * calls) and a browser-form POST's signed policy (uploadForm). The signatures are recomputed
 * with the SDK's own signer (@smithy/signature-v4), never by hand. Anything that proves
 * nothing is refused by the front (s3-front.ts), as S3 refuses an anonymous request to a
 * private bucket.
 */

/** S3 refuses a header-signed request whose X-Amz-Date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60_000;

const signatureMismatch = () =>
  refused(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');

const sameHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const signerFor = (keys: SigningKeys, region: string, service: string) =>
  new SignatureV4({ credentials: keys, region, service, sha256: Sha256, uriEscapePath: false, applyChecksum: false });

/** Whether the request carries a SigV4 Authorization header (the only header scheme this checks). */
export function isHeaderSigned(req: IncomingMessage): boolean {
  return /^AWS4-HMAC-SHA256 /.test(req.headers.authorization ?? '');
}

/** A header-signed request that proved itself: with the body's SHA-256 it declared (hex), which the front compares with the body before forwarding it. */
export type HeaderSignedVerdict = { ok: true; payloadSha256?: string } | Refusal;

/** The `x-amz-content-sha256` values that declare no hash of the whole body, and that S3 accepts as such. */
const UNSIGNED_PAYLOAD = new Set(['UNSIGNED-PAYLOAD', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']);

/**
 * Checks a header-signed request: the access key, the clock skew, and the signature recomputed
 * over the method, path, query and exactly the headers it names as signed. The body is covered
 * through its declared hash (`x-amz-content-sha256`, which S3 requires and puts in the
 * canonical request whether or not it is among the signed headers): the answer carries it for
 * the front to compare with the body, as S3 does (a replay of a captured loopback request with
 * other bytes is refused 400 XAmzContentSHA256Mismatch). A body signed chunk by chunk
 * (`STREAMING-AWS4-*`) is refused: the front does not check chunk signatures, and the SDK never
 * sends one.
 */
export async function verifyHeaderSigned(req: IncomingMessage, url: URL, keys: SigningKeys, now = Date.now()): Promise<HeaderSignedVerdict> {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? '');
  if (!auth) return refused(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
  const [accessKeyId, , region, service] = auth[1]!.split('/');
  if (accessKeyId !== keys.accessKeyId) return refused(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (!region || !service) return refused(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
  const signedAt = amzDate(String(req.headers['x-amz-date'] ?? ''));
  if (!signedAt) return refused(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (Math.abs(now - signedAt.getTime()) > MAX_SKEW_MS)
    return refused(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');

  const names = auth[2]!.split(';');
  if (!names.includes('host')) return signatureMismatch();
  const declared = req.headers['x-amz-content-sha256'];
  // The signer takes the payload hash from this header, signed or not.
  const headers: Record<string, string> = typeof declared === 'string' ? { 'x-amz-content-sha256': declared } : {};
  for (const name of names) {
    const value = req.headers[name];
    if (value === undefined) return signatureMismatch();
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  const again = await signerFor(keys, region, service).sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: url.hostname, path: url.pathname, query, headers },
    { signingDate: signedAt, signableHeaders: new Set(names) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(again.headers['authorization'] ?? ''))?.[1] ?? '';
  if (!sameHex(expected, auth[3]!)) return signatureMismatch();
  if (typeof declared !== 'string') return refused(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  if (/^[0-9a-f]{64}$/.test(declared)) return { ok: true, payloadSha256: declared };
  if (declared.startsWith('STREAMING-AWS4-'))
    return refused(501, 'NotImplemented', 'The local S3 front does not check chunk-signed bodies; sign the whole body or send it unsigned.');
  if (!UNSIGNED_PAYLOAD.has(declared))
    return refused(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value.');
  return { ok: true };
}

/** S3's refusal of a body (its chunks, in order) whose SHA-256 is not the one its header-signed request declared, or undefined when it is. */
export function payloadRefusal(payloadSha256: string, body: readonly Uint8Array[]): Refusal | undefined {
  if (hashOf('sha256', body).toString('hex') === payloadSha256) return undefined;
  return refused(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

/** What a verified form may upload: the content-length-range of its policy. */
export type FormVerdict = { ok: true; minBytes: number; maxBytes: number } | Refusal;

/** Form fields S3 never asks the policy to name. */
const UNCONDITIONED = new Set(['x-amz-signature', 'policy', 'file']);

/**
 * Checks a browser-form POST (S3's "POST Object" with a SigV4 policy) from its fields before the
 * file part, by lower-cased name, `key` with `${filename}` already filled in: the signature over
 * the policy, the credential, the policy's expiration, and every condition (exact match,
 * `eq`, `starts-with`, the bucket the form is posted to); every field but the signature, the
 * policy and `x-ignore-*` ones must be named by a condition. The content-length-range is
 * answered for the front to enforce while the file streams.
 */
export async function verifyPostPolicy(fields: Map<string, string>, bucket: string, keys: SigningKeys, now = Date.now()): Promise<FormVerdict> {
  const policy = fields.get('policy');
  const signature = fields.get('x-amz-signature');
  if (!policy || !signature || fields.get('x-amz-algorithm') !== 'AWS4-HMAC-SHA256')
    return refused(403, 'AccessDenied', 'Bucket POST must contain a signed policy (SigV4)');
  const [accessKeyId, date, region, service] = (fields.get('x-amz-credential') ?? '').split('/');
  if (accessKeyId !== keys.accessKeyId) return refused(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const signedAt = amzDate(fields.get('x-amz-date') ?? '');
  if (!region || !service || !date || !signedAt) return refused(400, 'InvalidArgument', 'x-amz-credential and x-amz-date must be valid');
  const expected = await signerFor(keys, region, service).sign(policy, { signingDate: signedAt, signingRegion: region, signingService: service });
  if (!sameHex(expected, signature)) return signatureMismatch();

  let doc: { expiration?: unknown; conditions?: unknown };
  try {
    doc = JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as typeof doc;
  } catch {
    return refused(400, 'InvalidPolicyDocument', 'Invalid Policy: the policy is not JSON');
  }
  const expires = typeof doc.expiration === 'string' ? Date.parse(doc.expiration) : NaN;
  if (!(expires > now)) return refused(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');
  if (!Array.isArray(doc.conditions)) return refused(400, 'InvalidPolicyDocument', 'Invalid Policy: no conditions');

  const value = (name: string) => (name.toLowerCase() === 'bucket' ? bucket : fields.get(name.toLowerCase()));
  const named = new Set<string>();
  const failed = (what: string) => refused(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ${what}`);
  let minBytes = 0;
  let maxBytes = Number.MAX_SAFE_INTEGER;
  for (const c of doc.conditions as unknown[]) {
    if (Array.isArray(c) && c[0] === 'content-length-range') {
      minBytes = Number(c[1]);
      maxBytes = Number(c[2]);
      if (!Number.isSafeInteger(minBytes) || !Number.isSafeInteger(maxBytes))
        return refused(400, 'InvalidPolicyDocument', 'Invalid Policy: content-length-range');
    } else if (Array.isArray(c) && (c[0] === 'eq' || c[0] === 'starts-with') && typeof c[1] === 'string' && c[1].startsWith('$') && typeof c[2] === 'string') {
      const name = c[1].slice(1).toLowerCase();
      const v = value(name);
      named.add(name);
      if (v === undefined || (c[0] === 'eq' ? v !== c[2] : !v.startsWith(c[2]))) return failed(JSON.stringify(c));
    } else if (c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 1) {
      const [name, want] = Object.entries(c)[0]!;
      named.add(name.toLowerCase());
      if (value(name) !== want) return failed(JSON.stringify(c));
    } else return refused(400, 'InvalidPolicyDocument', `Invalid Policy: unknown condition ${JSON.stringify(c)}`);
  }
  for (const name of fields.keys()) {
    if (!UNCONDITIONED.has(name) && !name.startsWith('x-ignore-') && !named.has(name))
      return refused(403, 'AccessDenied', `Invalid according to Policy: Extra input fields: ${name}`);
  }
  return { ok: true, minBytes, maxBytes };
}
