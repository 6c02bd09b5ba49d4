import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { PassThrough, pipeline, Readable, Transform } from 'node:stream';
import busboy from 'busboy';
import { corsResponseHeaders, preflight, type AllowOrigin } from './cors.js';
import { serveOn, type Emulator } from './emulators.js';
import { isPresigned, s3ErrorXml, verifyPresigned, type SigningKeys } from './presigned-check.js';
import { checksumRefusal, requestedChecksums } from './s3-checksums.js';

/**
 * S3 as the local server's clients see it (presigned GET redirects, uploadForm POSTs): a
 * loopback proxy in front of the S3 endpoint that passes every request through unchanged
 * (Host included, so signatures still verify), except one thing s3rver does not do and S3
 * does: in a browser-form POST, `${filename}` in the `key` field becomes the file part's
 * filename. Policy and signature are still not checked (s3rver ignores them); that is
 * proved on a real S3 implementation (LocalStack lane).
 *
 * With `verify` (the keys s3rver signs with), presigned GETs and HEADs are served as S3 serves
 * them where s3rver does not: the SigV4 query signature is checked over the signed headers (a
 * tampered Range is refused 403 SignatureDoesNotMatch), an expired URL is refused, and a suffix
 * range (`Range: bytes=-N`, which s3rver reads as `0-N`) answers the object's last N bytes.
 *
 * A PUT that carries `x-amz-checksum-*` headers is checked as S3 checks it (s3-checksums.ts):
 * a body that does not match is refused 400 BadDigest and never reaches s3rver.
 */
export async function startS3Front(
  target: string,
  host = '127.0.0.1',
  options: { verify?: SigningKeys | undefined; allowOrigin?: AllowOrigin } = {},
): Promise<Emulator> {
  const upstream = new URL(target);
  const allowOrigin = options.allowOrigin ?? (() => false);
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
    if (options.verify && (req.method === 'GET' || req.method === 'HEAD')) {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      if (isPresigned(url)) {
        verifyPresigned(req, url, options.verify).then(
          (verdict) => {
            if (verdict.ok) return forward(req, res, cors);
            res.writeHead(verdict.status, { 'content-type': 'application/xml' });
            res.end(req.method === 'HEAD' ? undefined : s3ErrorXml(verdict.code, verdict.message));
          },
          () => {
            res.writeHead(500, { 'content-type': 'application/xml' });
            res.end();
          },
        );
        return;
      }
    }
    const checksums = req.method === 'PUT' ? requestedChecksums(req.headers) : [];
    if (checksums.length) return void checkedPut(req, res, cors, checksums);
    forward(req, res, cors);
  });

  async function checkedPut(req: IncomingMessage, res: ServerResponse, cors: Record<string, string>, checksums: [string, string][]): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const refusal = await checksumRefusal(checksums, body);
      if (refusal) {
        res.writeHead(400, { 'content-type': 'application/xml' });
        res.end(s3ErrorXml(refusal.code, refusal.message));
        return;
      }
      forward(req, res, cors, Readable.from([body]));
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/xml' });
      res.end();
    }
  }

  function forward(req: IncomingMessage, res: ServerResponse, cors: Record<string, string>, read: Readable = req): void {
    const headers = { ...req.headers };
    const suffix = req.method === 'GET' ? /^bytes=-(\d+)$/.exec(String(headers.range ?? '').trim()) : null;
    if (suffix) delete headers.range;
    let body: Readable = read;
    if (isFormPost(req)) {
      const boundary = `s3front${randomBytes(12).toString('hex')}`;
      body = withFilenameInKey(req, boundary);
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
      delete headers['content-length'];
      headers['transfer-encoding'] = 'chunked';
    }
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      if (suffix && up.statusCode === 200) return answerSuffix(up, res, Number(suffix[1]));
      res.writeHead(up.statusCode ?? 502, { ...up.headers, ...cors });
      // A client hanging up mid-body must not leave the upstream response open.
      pipeline(up, res, () => undefined);
    });
    const fail = () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/xml' });
      res.end();
      out.destroy();
    };
    out.on('error', fail);
    body.on('error', fail);
    body.pipe(out);
  }
  return serveOn(server, host);
}

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
  let skip = start;
  const tail = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        return done();
      }
      const rest = chunk.subarray(skip);
      skip = 0;
      done(null, rest);
    },
  });
  res.writeHead(206, { ...up.headers, 'content-length': String(size - start), 'content-range': `bytes ${start}-${size - 1}/${size}` });
  pipeline(up, tail, res, () => undefined);
}

/** A POST Object (browser form) to a bucket: `/<bucket>` with no sub-resource query. */
function isFormPost(req: IncomingMessage): boolean {
  return req.method === 'POST' && /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '') && !(req.url ?? '').includes('?');
}

/**
 * The same form, re-encoded with `${filename}` in `key` filled in. S3 reads only the fields
 * before the file part, so those are held (they are small) until the file part names its
 * filename; the file's bytes then stream through; anything after it is dropped, as S3 does.
 */
function withFilenameInKey(req: IncomingMessage, boundary: string): Readable {
  const out = new PassThrough();
  const fields: [string, string][] = [];
  const head = (name: string, extra = '') => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${extra}\r\n`;
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1 } });
  } catch (err) {
    queueMicrotask(() => out.destroy(err as Error));
    return out;
  }
  let sawFile = false;
  parser.on('field', (name, value) => {
    if (!sawFile) fields.push([name, value]);
  });
  parser.on('file', (name, file, info) => {
    sawFile = true;
    for (const [k, v] of fields) {
      const value = k.toLowerCase() === 'key' ? v.replaceAll('${filename}', info.filename ?? '') : v;
      out.write(`${head(k)}\r\n${value}\r\n`);
    }
    const filename = (info.filename ?? '').replace(/["\r\n]/g, '');
    out.write(`${head(name, `; filename="${filename}"`)}Content-Type: ${info.mimeType}\r\n\r\n`);
    file.pipe(out, { end: false });
    file.on('end', () => out.write('\r\n'));
  });
  parser.on('close', () => {
    if (!sawFile) for (const [k, v] of fields) out.write(`${head(k)}\r\n${v}\r\n`);
    out.end(`--${boundary}--\r\n`);
  });
  parser.on('error', (err) => out.destroy(err as Error));
  req.pipe(parser);
  return out;
}
