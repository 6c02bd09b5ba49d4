import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP front for a local server, as a browser test sees it: every request passes through
 * unchanged (Host included, so the URLs the server hands out point back here), and the blobs
 * each upload (to the upload URL, or through a form and its completion) was answered as received
 * are recorded, so a test
 * can count what was sent. `goAway()` drops every connection and refuses new ones: a server
 * that went away mid-upload.
 */
export interface RecordingFront {
  url: string;
  /** Refs in `received` of every upload answer, in the order the answers completed. */
  received: string[];
  /** Requests seen, as "METHOD /path" (upload tokens included). */
  requests: string[];
  goAway(): void;
  close(): Promise<void>;
}

const UPLOAD_ANSWER = /^\/camli\/(upload\/|upload-complete\/)/;

/** `delayUploadsMs`: hold each upload answer this long (slows an upload down enough to interrupt it). */
export async function startRecordingFront(target: string, options: { delayUploadsMs?: number } = {}): Promise<RecordingFront> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const completions = new Set<string>();
  let gone = false;
  const front: RecordingFront = {
    url: '',
    received: [],
    requests: [],
    goAway: () => {
      gone = true;
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      front.goAway();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    if (gone) return void req.socket.destroy();
    const path = (req.url ?? '/').split('?')[0]!;
    front.requests.push(`${req.method} ${path}`);
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, async (up) => {
      if (options.delayUploadsMs && UPLOAD_ANSWER.test(path)) await new Promise((ok) => setTimeout(ok, options.delayUploadsMs));
      res.writeHead(up.statusCode ?? 502, up.headers);
      // A completion URL answers each time it is asked (a browser asks twice: it follows S3's
      // redirect, opaquely, then asks again), but stands for one upload.
      const record = UPLOAD_ANSWER.test(path) && up.statusCode === 200 && !completions.has(path);
      if (record && path.startsWith('/camli/upload-complete/')) completions.add(path);
      const chunks: Buffer[] = [];
      up.on('data', (d: Buffer) => {
        if (record) chunks.push(d);
        res.write(d);
      });
      up.on('end', () => {
        if (record) {
          const answer = JSON.parse(Buffer.concat(chunks).toString()) as { received?: { blobRef: string }[] };
          front.received.push(...(answer.received ?? []).map((r) => r.blobRef));
        }
        res.end();
      });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('connection', (s) => {
    if (gone) return void s.destroy();
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return front;
}
