import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blobRefOf } from '../../client/hash.js';
import { directorySchema, fileSchema, schemaBlob, staticSets, symlinkSchema, type CommonAttributes, type SchemaMap } from '../../client/schema.js';

/**
 * A malicious blob server for the client's restore: every blob it serves hashes to its ref
 * (the server is hostile, not broken), but the schemas say what an attacker likes: symlinks
 * then entries of the same name, setuid modes, bodies that never end, oversized schema blobs.
 * Blobs are built here with the client's own schema writer; GET /camli/REF is all it answers.
 */

/** How a blob's body is sent: its bytes, or a handler that writes the response itself. */
type Body = Buffer | ((res: ServerResponse) => void);

export interface HostileServer {
  url: string;
  /** Bytes written by streaming handlers, to show the client stopped reading. */
  streamed: number;
  /** Adds a blob (raw bytes or a schema map) and returns its ref. */
  blob(bytes: Buffer | string): string;
  schema(fields: SchemaMap): string;
  file(name: string, content: string, attrs?: Omit<CommonAttributes, 'fileName'>): string;
  symlink(name: string, target: string): string;
  directory(name: string, members: readonly string[]): string;
  /** Serves `ref` through a handler instead of its bytes. */
  serve(ref: string, body: (res: ServerResponse) => void): void;
  /** Serves `ref`'s bytes chunked, with no content-length to refuse it by. */
  withoutLength(ref: string): void;
  /** A body that never ends: chunks of `byte` until the client hangs up. */
  endless(res: ServerResponse): void;
  close(): Promise<void>;
}

export async function startHostileServer(): Promise<HostileServer> {
  const blobs = new Map<string, Body>();
  const put = (bytes: Uint8Array) => {
    const ref = blobRefOf(bytes);
    blobs.set(ref, Buffer.from(bytes));
    return ref;
  };
  const server = createServer((req, res) => {
    const m = /^\/camli\/(sha224-[0-9a-f]{56})$/.exec(req.url ?? '');
    const body = m ? blobs.get(m[1]!) : undefined;
    if (!body) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ errorText: 'not found' }));
    }
    if (typeof body === 'function') return body(res);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const chunk = Buffer.alloc(64 << 10, 0x61);
  const hostile: HostileServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streamed: 0,
    blob: (bytes) => put(typeof bytes === 'string' ? Buffer.from(bytes) : bytes),
    schema: (fields) => put(schemaBlob(fields).bytes),
    file(name, content, attrs = {}) {
      const bytes = Buffer.from(content);
      const parts = bytes.length ? [{ blobRef: put(bytes), size: bytes.length }] : [];
      return put(fileSchema({ fileName: name, ...attrs }, parts).bytes);
    },
    symlink: (name, target) => put(symlinkSchema({ fileName: name }, target).bytes),
    directory(name, members) {
      const [set] = staticSets(members);
      put(set!.bytes);
      return put(directorySchema({ fileName: name }, set!.ref).bytes);
    },
    serve: (ref, body) => void blobs.set(ref, body),
    withoutLength(ref) {
      const bytes = blobs.get(ref) as Buffer;
      blobs.set(ref, (res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(bytes);
      });
    },
    endless(res) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const more = () => {
        while (!res.destroyed) {
          hostile.streamed += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
      };
      res.on('close', () => res.destroy());
      more();
    },
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  return hostile;
}
