import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import busboy from 'busboy';
import { corsResponseHeaders, preflight, type AllowOrigin } from './cors.js';
import { serveOn, type Emulator } from './emulators.js';
import { canonicalAmzQuery, isPresigned, refused, s3ErrorXml, verifyPresigned, type Refusal, type SigningKeys } from './presigned-check.js';
import { checksumRefusal, requestedChecksums } from './s3-checksums.js';
import { isHeaderSigned, payloadRefusal, verifyHeaderSigned, verifyPostPolicy, type FormVerdict, type HeaderSignedVerdict } from './s3-request-auth.js';

/**
 * S3 as the local server's clients see it (presigned GET redirects, uploadForm POSTs): a
 * loopback proxy in front of the S3 endpoint that passes requests through unchanged (Host
 * included, so signatures still verify), plus what s3rver does not do and S3 does.
 *
 * With `verify` (the keys s3rver signs with) it forwards only requests that prove who sent
 * them, as S3 does for a private bucket; s3rver accepts anonymous requests, so without this any
 * local process (or a web page posting to loopback) could list the bucket, read whole packs
 * (removed blobs' bytes included), overwrite or delete them, or post a form to any key:
 * - presigned URLs (presigned-check.ts): the SigV4 query signature is checked over the signed
 *   headers (a tampered Range is refused 403 SignatureDoesNotMatch), `X-Amz-*` names in any
 *   case are checked as the canonical ones, an expired URL is refused;
 * - header-signed requests (the server's own SDK calls; s3-request-auth.ts);
 * - browser-form POSTs whose signed policy holds (s3-request-auth.ts): `${filename}` in the
 *   `key` field becomes the file part's filename first, as S3 does, and the policy's
 *   content-length-range is enforced while the file streams;
 * - everything else answers 403 AccessDenied. CORS preflights are answered here.
 * A suffix range (`Range: bytes=-N`, which s3rver reads as `0-N`) answers the object's last N bytes,
 * and `Range: bytes=0-0` (which s3rver reads as `0-`, the whole object: it takes an end of 0 for
 * none) its first byte, as S3 does: a one-byte blob first in a pack is read that way.
 * Without `verify` (an endpoint that checks signatures itself, such as LocalStack) requests pass.
 *
 * A PUT that carries `x-amz-checksum-*` headers is checked as S3 checks it (s3-checksums.ts):
 * a body that does not match is refused 400 BadDigest and never reaches s3rver.
 */
export async function startS3Front(
  target: string,
  host = '127.0.0.1',
  options: { verify?: SigningKeys | undefined; allowOrigin?: AllowOrigin } = {},
): Promise<Emulator> {
  // `unix:<path>`: s3rver on a Unix socket (emulators.ts), else an HTTP endpoint.
  const upstream = target.startsWith('unix:') ? { socketPath: target.slice('unix:'.length) } : { host: new URL(target).hostname, port: new URL(target).port };
  const allowOrigin = options.allowOrigin ?? (() => false);
  const keys = options.verify;
  const server = createServer((req, res) => {
    // The bucket's CORS rule (infra/storage.ts), answered here: form POSTs and (ranged) GETs
    // from the allowed origins.
    const asked = preflight(req.method ?? 'GET', req.headers, allowOrigin);
    if (asked) {
      res.writeHead(asked.status, asked.headers).end();
      return req.resume();
    }
    const cors = corsResponseHeaders(req.headers, allowOrigin);
    for (const [name, value] of Object.entries(cors)) res.setHeader(name, value);
    if (!keys) return isFormPost(req) ? forwardForm(req, res, cors) : forwardChecked(req, res, cors);
    const refuse = (v: Refusal) => {
      req.resume();
      if (res.headersSent) return void res.destroy();
      res.writeHead(v.status, { 'content-type': 'application/xml' });
      res.end(req.method === 'HEAD' ? undefined : s3ErrorXml(v.code, v.message));
    };
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    if (isFormPost(req)) return forwardForm(req, res, cors, (fields) => verifyPostPolicy(fields, url.pathname.slice(1), keys));
    const verdict: Promise<HeaderSignedVerdict> = isPresigned(url)
      ? verifyPresigned(req, url, keys).then((v) => {
          // What was checked is what is forwarded: the canonical names.
          if (v.ok) req.url = `${canonicalAmzQuery(url).pathname}${canonicalAmzQuery(url).search}`;
          return v;
        })
      : isHeaderSigned(req)
        ? verifyHeaderSigned(req, url, keys)
        : Promise.resolve(refused(403, 'AccessDenied', 'Access Denied'));
    verdict.then(
      (v) => (v.ok ? forwardChecked(req, res, cors, v.payloadSha256) : refuse(v)),
      () => refuse(refused(500, 'InternalError', 'We encountered an internal error. Please try again.')),
    );
  });

  /**
   * Forwards a request, once its body matches the SHA-256 its signature declared and (a PUT)
   * its `x-amz-checksum-*` headers: such a body is read whole first, so nothing of a refused
   * one reaches s3rver.
   */
  function forwardChecked(req: IncomingMessage, res: ServerResponse, cors: Record<string, string>, payloadSha256?: string): void {
    const checksums = req.method === 'PUT' ? requestedChecksums(req.headers) : [];
    if (checksums.length || payloadSha256) return void checkedBody(req, res, cors, checksums, payloadSha256);
    forward(req, res, cors);
  }

  async function checkedBody(
    req: IncomingMessage,
    res: ServerResponse,
    cors: Record<string, string>,
    checksums: [string, string][],
    payloadSha256: string | undefined,
  ): Promise<void> {
    try {
      // Kept as the chunks that came, checked and forwarded as they are: no copy of every object
      // the server writes (126 MB of garbage per put of the bench tree, and full collections).
      const body: Buffer[] = [];
      for await (const c of req) body.push(c as Buffer);
      const refusal = (payloadSha256 && payloadRefusal(payloadSha256, body)) || (await checksumRefusal(checksums, body));
      if (refusal) {
        res.writeHead(400, { 'content-type': 'application/xml' });
        res.end(s3ErrorXml(refusal.code, refusal.message));
        return;
      }
      forward(req, res, cors, undefined, Readable.from(body));
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/xml' });
      res.end();
    }
  }

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    cors: Record<string, string>,
    form?: { body: Readable; boundary: string },
    read: Readable = req,
  ): void {
    const headers = { ...req.headers };
    const suffix = req.method === 'GET' ? /^bytes=-(\d+)$/.exec(String(headers.range ?? '').trim()) : null;
    if (suffix) delete headers.range;
    const firstByte = req.method === 'GET' && String(headers.range ?? '').trim() === 'bytes=0-0';
    let body: Readable = read;
    if (form) {
      body = form.body;
      headers['content-type'] = `multipart/form-data; boundary=${form.boundary}`;
      delete headers['content-length'];
      headers['transfer-encoding'] = 'chunked';
    }
    const out = request({ ...upstream, method: req.method, path: req.url, headers }, (up) => {
      if (suffix && up.statusCode === 200) return answerSuffix(up, res, Number(suffix[1]));
      if (firstByte && up.statusCode === 206) return answerFirstByte(up, res);
      res.writeHead(up.statusCode ?? 502, { ...up.headers, ...cors });
      // A client hanging up mid-body must not leave the upstream response open.
      pipeline(up, res, () => undefined);
    });
    let failed = false;
    const fail = (err?: Error) => {
      if (failed) return;
      failed = true;
      out.destroy();
      const tooLarge = err instanceof EntityTooLarge;
      const answer = () => {
        if (!res.headersSent) {
          res.writeHead(tooLarge ? 400 : 502, { 'content-type': 'application/xml' });
          if (tooLarge) res.write(s3ErrorXml('EntityTooLarge', err.message));
        }
        res.end();
      };
      // An oversized form is read to its end (and dropped) before the answer, so the client is
      // never cut off mid-send.
      if (tooLarge && !req.complete) req.once('end', answer).once('close', answer);
      else answer();
    };
    out.on('error', () => fail());
    body.on('error', fail);
    body.pipe(out);
  }

  /** A form POST: its fields checked (when `check` is given) before anything reaches upstream. */
  function forwardForm(
    req: IncomingMessage,
    res: ServerResponse,
    cors: Record<string, string>,
    check?: (fields: Map<string, string>) => Promise<FormVerdict>,
  ): void {
    const boundary = `s3front${randomBytes(12).toString('hex')}`;
    withFilenameInKey(req, boundary, check).then(
      (form) => {
        if ('body' in form) return forward(req, res, cors, { body: form.body, boundary });
        req.resume();
        res.writeHead(form.status, { 'content-type': 'application/xml' });
        res.end(s3ErrorXml(form.code, form.message));
      },
      () => {
        req.resume();
        res.writeHead(400, { 'content-type': 'application/xml' });
        res.end(s3ErrorXml('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.'));
      },
    );
  }
  return serveOn(server, host);
}

class EntityTooLarge extends Error {}

/** The last `n` bytes of a whole-object answer, as S3 answers `Range: bytes=-n` (206, or 416 for n = 0 or an empty object). */
function answerSuffix(up: IncomingMessage, res: ServerResponse, n: number): void {
  const size = Number(up.headers['content-length']);
  if (!Number.isInteger(size) || n === 0 || size === 0) {
    up.resume();
    res.writeHead(416, { 'content-type': 'application/xml' });
    res.end(s3ErrorXml('InvalidRange', 'The requested range is not satisfiable'));
    return;
  }
  const start = Math.max(0, size - n);
  answerPart(up, res, start, size - start, size);
}

/** `Range: bytes=0-0` from s3rver's answer for the whole object from byte 0: its first byte, as S3 answers it. */
function answerFirstByte(up: IncomingMessage, res: ServerResponse): void {
  const total = /\/(\d+)$/.exec(String(up.headers['content-range'] ?? ''))?.[1] ?? up.headers['content-length'];
  answerPart(up, res, 0, 1, total);
}

/** 206 with `length` bytes from `start` of the upstream answer's body, the rest of it dropped. */
function answerPart(up: IncomingMessage, res: ServerResponse, start: number, length: number, total: number | string | undefined): void {
  let skip = start;
  let left = length;
  const part = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (skip >= chunk.length || left === 0) {
        skip = Math.max(0, skip - chunk.length);
        return done();
      }
      const piece = chunk.subarray(skip, skip + left);
      skip = 0;
      left -= piece.length;
      done(null, piece);
    },
  });
  res.writeHead(206, { ...up.headers, 'content-length': String(length), 'content-range': `bytes ${start}-${start + length - 1}/${total}` });
  pipeline(up, part, res, () => undefined);
}

/** A POST Object (browser form) to a bucket: `/<bucket>` with no sub-resource query. */
function isFormPost(req: IncomingMessage): boolean {
  return req.method === 'POST' && /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '') && !(req.url ?? '').includes('?');
}

/**
 * The same form, re-encoded with `${filename}` in `key` filled in, once its fields (lower-cased
 * names) pass `check`. S3 reads only the fields before the file part, so those are held (they
 * are small) until the file part names its filename; the file's bytes then stream through, at
 * most the policy's maximum; anything after it is dropped, as S3 does. Resolves when the file
 * part begins (or the form ends without one), before a byte is forwarded.
 */
function withFilenameInKey(
  req: IncomingMessage,
  boundary: string,
  check?: (fields: Map<string, string>) => Promise<FormVerdict>,
): Promise<{ body: Readable } | Refusal> {
  return new Promise((resolve, reject) => {
    const out = new PassThrough();
    const fields: [string, string][] = [];
    const head = (name: string, extra = '') => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n`;
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 100, fieldSize: 64 << 10 } });
    } catch (err) {
      return reject(err as Error);
    }
    let sawFile = false;
    parser.on('field', (name, value) => {
      if (!sawFile) fields.push([name, value]);
    });
    parser.on('file', (name, file, info) => {
      sawFile = true;
      const filled = fields.map(([k, v]): [string, string] => [k, k.toLowerCase() === 'key' ? v.replaceAll('${filename}', info.filename ?? '') : v]);
      file.pause();
      (check ? check(new Map(filled.map(([k, v]) => [k.toLowerCase(), v]))) : Promise.resolve<FormVerdict>({ ok: true, minBytes: 0, maxBytes: Infinity })).then(
        (verdict) => {
          if (!verdict.ok) {
            file.resume();
            return resolve(verdict);
          }
          for (const [k, v] of filled) out.write(`${head(k)}\r\n${v}\r\n`);
          const filename = (info.filename ?? '').replace(/["\r\n]/g, '');
          out.write(`${head(name, `; filename="${filename}"`)}Content-Type: ${info.mimeType}\r\n\r\n`);
          let bytes = 0;
          file.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > verdict.maxBytes) {
              file.unpipe(out);
              // Read on to the end of the form (dropped), so the answer comes once the client has sent it.
              file.resume();
              out.destroy(new EntityTooLarge('Your proposed upload exceeds the maximum allowed size'));
            }
          });
          file.pipe(out, { end: false });
          file.on('end', () => out.write('\r\n'));
          file.resume();
          resolve({ body: out });
        },
        reject,
      );
    });
    parser.on('close', () => {
      if (sawFile) return out.end(`--${boundary}--\r\n`);
      if (check) return resolve(refused(400, 'InvalidArgument', 'POST requires exactly one file upload per request.'));
      for (const [k, v] of fields) out.write(`${head(k)}\r\n${v}\r\n`);
      out.end(`--${boundary}--\r\n`);
      resolve({ body: out });
    });
    parser.on('error', (err) => {
      out.destroy(err as Error);
      reject(err as Error);
    });
    req.pipe(parser);
  });
}
