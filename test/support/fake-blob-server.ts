import busboy from 'busboy';
import { blobRefOf } from '../../lambda/core/blobref.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted stand-in for the blob server, for unit tests of the client: preupload, signed
 * upload URLs (tokens that can be expired on demand), the large-blob form (S3's presigned
 * POST answering 303 to a completion URL) and GET, with faults injected per request.
 */

export interface FakeRequest {
  method: string;
  path: string;
  /** Blob parts in an upload (their names). */
  parts: string[];
  fields: Record<string, string>;
}

/** A fault for one request: an HTTP status, or `drop` to cut the connection. */
export type FakeFault = { status: number; retryAfter?: number } | 'drop';

export interface FakeServer {
  url: string;
  blobs: Map<string, Buffer>;
  requests: FakeRequest[];
  /** Return a fault to inject for this request, or undefined to serve it. */
  fault?: ((req: FakeRequest) => FakeFault | undefined) | undefined;
  maxUploadSize: number;
  /** Offer the large-blob form in every answer carrying uploadUrl. */
  offerForm: boolean;
  /** Tokens below this are refused with 403, as expired upload URLs are. */
  minValidToken: number;
  close(): Promise<void>;
}

async function readMultipart(
  req: IncomingMessage,
): Promise<{ files: { name: string; filename?: string | undefined; data: Buffer }[]; fields: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const files: { name: string; filename?: string | undefined; data: Buffer }[] = [];
    const fields: Record<string, string> = {};
    const bb = busboy({ headers: req.headers });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => files.push({ name, filename: info.filename, data: Buffer.concat(chunks) }));
    });
    bb.on('field', (name, value) => (fields[name] = value));
    bb.on('close', () => resolve({ files, fields }));
    bb.on('error', reject);
    req.pipe(bb);
  });
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

export async function startFakeServer(options: Partial<Pick<FakeServer, 'maxUploadSize' | 'offerForm'>> = {}): Promise<FakeServer> {
  let nextToken = 1;
  const pendingForm = new Map<string, Buffer>();
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const uploadFields = () => ({
    maxUploadSize: fake.maxUploadSize,
    uploadUrl: `${fake.url}/camli/upload/${nextToken++}`,
    uploadUrlExpirationSeconds: 7200,
    ...(fake.offerForm
      ? { uploadForm: { url: `${fake.url}/s3`, fields: { key: 'staging/${filename}', policy: 'p0l1cy' }, maxBlobSize: 16 << 20, expirationSeconds: 7200 } }
      : {}),
  });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const isMultipart = (req.headers['content-type'] ?? '').startsWith('multipart/');
    const { files, fields } = isMultipart ? await readMultipart(req) : { files: [], fields: {} };
    const body = isMultipart ? Buffer.alloc(0) : await readBody(req);
    const record: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, parts: files.map((f) => f.name), fields };
    fake.requests.push(record);
    const fault = fake.fault?.(record);
    if (fault === 'drop') return req.socket.destroy();
    if (fault) return send(res, fault.status, { errorText: 'injected fault' }, fault.retryAfter ? { 'retry-after': String(fault.retryAfter) } : {});

    if (url.pathname === '/camli/preupload' || url.pathname === '/camli/stat') {
      const form = new URLSearchParams(body.toString());
      const refs = [...form.entries()].filter(([k]) => /^blob\d+$/.test(k)).map(([, v]) => v);
      const have = refs.filter((r) => fake.blobs.has(r)).map((r) => ({ blobRef: r, size: fake.blobs.get(r)!.length }));
      return url.pathname === '/camli/stat' ? send(res, 200, { stat: have, canLongPoll: false }) : send(res, 200, { alreadyHave: have, ...uploadFields() });
    }
    const upload = /^\/camli\/upload\/(\d+)$/.exec(url.pathname);
    if (upload) {
      if (Number(upload[1]) < fake.minValidToken) return send(res, 403, { errorText: 'upload URL is expired' });
      const received = [];
      for (const f of files) {
        if (blobRefOf(f.data) !== f.name) continue;
        fake.blobs.set(f.name, f.data);
        received.push({ blobRef: f.name, size: f.data.length });
      }
      return send(res, 200, { received, ...uploadFields() });
    }
    if (url.pathname === '/s3' && req.method === 'POST') {
      const file = files.find((f) => f.name === 'file');
      if (!file || fields['policy'] !== 'p0l1cy' || fields['key'] !== 'staging/${filename}') return send(res, 400, { errorText: 'bad form' });
      const key = String(nextToken++);
      pendingForm.set(key, file.data);
      res.writeHead(303, { location: `/complete/${key}/${file.filename}` });
      return res.end();
    }
    const complete = /^\/complete\/(\d+)\/(.+)$/.exec(url.pathname);
    if (complete && req.method === 'GET') {
      const data = pendingForm.get(complete[1]!);
      if (!data || blobRefOf(data) !== complete[2]!) return send(res, 200, { received: [], errorText: 'digest mismatch', ...uploadFields() });
      fake.blobs.set(complete[2]!, data);
      return send(res, 200, { received: [{ blobRef: complete[2]!, size: data.length }], ...uploadFields() });
    }
    const get = /^\/camli\/(sha224-[0-9a-f]{56})$/.exec(url.pathname);
    if (get) {
      const data = fake.blobs.get(get[1]!);
      if (!data) return send(res, 404, { errorText: 'not found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) });
      return res.end(data);
    }
    send(res, 404, { errorText: 'no such endpoint' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    blobs: new Map(),
    requests: [],
    maxUploadSize: options.maxUploadSize ?? 100_000,
    offerForm: options.offerForm ?? false,
    minValidToken: 0,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  return fake;
}
