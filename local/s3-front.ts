import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage } from 'node:http';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import busboy from 'busboy';
import { corsResponseHeaders, preflight, type AllowOrigin } from './cors.js';
import { serveOn, type Emulator } from './emulators.js';

/**
 * S3 as the local server's clients see it (presigned GET redirects, uploadForm POSTs): a
 * loopback proxy in front of the S3 endpoint that passes every request through unchanged
 * (Host included, so signatures still verify), except one thing s3rver does not do and S3
 * does: in a browser-form POST, `${filename}` in the `key` field becomes the file part's
 * filename. Policy and signature are still not checked (s3rver ignores them); that is
 * proved on a real S3 implementation (LocalStack lane).
 */
export async function startS3Front(target: string, host = '127.0.0.1', allowOrigin: AllowOrigin = () => false): Promise<Emulator> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    // The bucket's CORS rule (infra/storage.ts), answered here: form POSTs and (ranged) GETs
    // from the allowed origins.
    const asked = preflight(req.method ?? 'GET', req.headers, allowOrigin);
    if (asked) {
      res.writeHead(asked.status, asked.headers).end();
      return req.resume();
    }
    const cors = corsResponseHeaders(req.headers, allowOrigin);
    const headers = { ...req.headers };
    let body: Readable = req;
    if (isFormPost(req)) {
      const boundary = `s3front${randomBytes(12).toString('hex')}`;
      body = withFilenameInKey(req, boundary);
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
      delete headers['content-length'];
      headers['transfer-encoding'] = 'chunked';
    }
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
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
  });
  return serveOn(server, host);
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
