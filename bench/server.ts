import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobRefOf } from '../lambda/core/blobref.js';
import { startLocalServer, type LocalServer } from '../local/server.js';
import { startAwsProxy, type AwsProxy } from '../test/support/aws-proxy.js';
import { dynaliteBackend } from '../test/support/backends.js';
import { multipartBody } from '../test/support/test-server.js';
import type { UploadForm } from '../test/support/upload-form.js';
import { median, mbPerSecond, timeRuns } from './measure.js';

/**
 * Benchmarks through real HTTP against the local server on loopback: end-to-end upload
 * throughput on the embedded emulators, and preupload latency with the DynamoDB requests
 * each preupload makes, counted by a proxy in front of dynalite.
 */

export const AUTH = 'userpass:bench:bench-password';
export const AUTHORIZATION = 'Basic ' + Buffer.from('bench:bench-password').toString('base64');

export async function withDataDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'blobserver-bench-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function preupload(
  server: LocalServer,
  refs: readonly string[],
): Promise<{ alreadyHave: { blobRef: string }[]; uploadUrl: string; uploadForm: UploadForm }> {
  const form = new URLSearchParams({ camliversion: '1' });
  for (const [i, r] of refs.entries()) form.set(`blob${i + 1}`, r);
  const res = await fetch(`${server.url}/camli/preupload`, {
    method: 'POST',
    headers: { authorization: AUTHORIZATION, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  if (res.status !== 200) throw new Error(`preupload answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { alreadyHave: { blobRef: string }[]; uploadUrl: string; uploadForm: UploadForm };
}

export interface UploadRequest {
  count: number;
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
}

/** A multipart request for these blobs, built ahead of any timing. */
export function uploadRequest(blobs: readonly { name: string; data: Buffer }[]): UploadRequest {
  const { body, contentType } = multipartBody([...blobs]);
  return { count: blobs.length, body: new Uint8Array(body), contentType };
}

/** Sends one multipart upload and checks every blob in it was received. */
export async function upload(uploadUrl: string, req: UploadRequest): Promise<void> {
  const res = await fetch(uploadUrl, { method: 'POST', headers: { 'content-type': req.contentType }, body: req.body });
  const text = await res.text();
  const received = res.status === 200 ? ((JSON.parse(text) as { received: unknown[] }).received?.length ?? 0) : 0;
  if (received !== req.count) throw new Error(`upload answered ${res.status}, ${received}/${req.count} received: ${text.slice(0, 300)}`);
}

export const randomBlobs = (count: number, size: number) =>
  Array.from({ length: count }, () => {
    const data = randomBytes(size);
    return { name: blobRefOf(data), data };
  });

export interface EndToEndFigures {
  /** Upload MB/s for batches of `parts` x `partSize`, fresh blobs every time. */
  cases: { label: string; mbps: number; medianMs: number }[];
}

/** `npm start`'s setup: the local server with its embedded dynalite + s3rver in a temp data dir. */
export async function endToEndUpload(reps: number, cases: { label: string; parts: number; partSize: number }[]): Promise<EndToEndFigures> {
  return withDataDir(async (dir) => {
    const server = await startLocalServer({ BLOBSERVER_DATA_DIR: dir, PORT: '0', BLOBSERVER_HOST: '127.0.0.1', BLOBSERVER_AUTH: AUTH });
    try {
      const { uploadUrl } = await preupload(server, []);
      const out: EndToEndFigures['cases'] = [];
      for (const c of cases) {
        // Fresh content for every run: re-uploading stored blobs would skip the writes.
        const batches = Array.from({ length: reps + 2 }, () => uploadRequest(randomBlobs(c.parts, c.partSize)));
        let next = 0;
        const runs = await timeRuns(reps, () => upload(uploadUrl, batches[next++]!));
        out.push({ label: c.label, mbps: mbPerSecond(c.parts * c.partSize, runs), medianMs: median(runs) });
      }
      return { cases: out };
    } finally {
      await server.close();
    }
  });
}

/**
 * The slowest request the write side accepts: the most parts it allows, each a distinct
 * 16-byte blob (every part costs an object write and an index write, whatever its size).
 */
export async function worstAcceptedUpload(reps: number, parts: number): Promise<{ medianMs: number; maxMs: number }> {
  return withDataDir(async (dir) => {
    const server = await startLocalServer({ BLOBSERVER_DATA_DIR: dir, PORT: '0', BLOBSERVER_HOST: '127.0.0.1', BLOBSERVER_AUTH: AUTH });
    try {
      const { uploadUrl } = await preupload(server, []);
      // Fresh blobs for every run, warm-up runs included.
      const batches = Array.from({ length: reps + 2 }, () => uploadRequest(randomBlobs(parts, 16)));
      let next = 0;
      const runs = await timeRuns(reps, () => upload(uploadUrl, batches[next++]!));
      return { medianMs: median(runs), maxMs: Math.max(...runs) };
    } finally {
      await server.close();
    }
  });
}

export interface PreuploadFigure {
  refs: number;
  present: number;
  medianMs: number;
  /** DynamoDB requests one preupload made (the most seen over the runs), and by operation. */
  ddbRequests: number;
  operations: string;
}

/** A local server on dynalite + s3rver under `dir`, with request-counting proxies in front of both emulators. */
export async function proxiedServer(dir: string): Promise<{ server: LocalServer; s3: AwsProxy; ddb: AwsProxy; close(): Promise<void> }> {
  const backend = await dynaliteBackend(dir);
  const s3 = await startAwsProxy(backend.env['AWS_ENDPOINT_URL_S3']!);
  const ddb = await startAwsProxy(backend.env['AWS_ENDPOINT_URL_DYNAMODB']!);
  const stopStorage = async () => {
    await Promise.all([s3.close(), ddb.close()]);
    await backend.close();
  };
  let server: LocalServer;
  try {
    server = await startLocalServer({
      ...backend.env,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      BLOBSERVER_DATA_DIR: dir,
      PORT: '0',
      BLOBSERVER_HOST: '127.0.0.1',
      BLOBSERVER_AUTH: AUTH,
    });
  } catch (err) {
    await stopStorage();
    throw err;
  }
  return {
    server,
    s3,
    ddb,
    close: async () => {
      await server.close();
      await stopStorage();
    },
  };
}

/** How many requests of each operation (DynamoDB's name, or `S3 <method>`). */
export function operationCounts(requests: readonly { operation?: string | undefined; method: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const op = r.operation ?? `S3 ${r.method}`;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return counts;
}

/**
 * Preupload latency for each list size, half of the refs stored and half absent, with a
 * counting proxy between the local server and dynalite.
 */
export async function preuploadLatency(reps: number, sizes: readonly number[]): Promise<PreuploadFigure[]> {
  return withDataDir(async (dir) => {
    const { server, ddb: proxy, close } = await proxiedServer(dir);
    try {
      const largest = Math.max(...sizes);
      const stored = randomBlobs(Math.ceil(largest / 2), 64);
      const { uploadUrl } = await preupload(server, []);
      for (let i = 0; i < stored.length; i += 250) await upload(uploadUrl, uploadRequest(stored.slice(i, i + 250)));
      const absent = randomBlobs(largest, 16).map((b) => b.name);

      const figures: PreuploadFigure[] = [];
      for (const n of sizes) {
        // Alternate present and absent refs: present first, so a 1-ref list asks for a stored blob.
        const refs = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? stored[i >> 1]!.name : absent[i >> 1]!));
        const present = Math.ceil(n / 2);
        const counts: number[] = [];
        let ops = new Map<string, number>();
        const runs = await timeRuns(reps, async () => {
          const before = proxy.requests.length;
          const answer = await preupload(server, refs);
          const made = proxy.requests.slice(before);
          if (answer.alreadyHave.length !== present) throw new Error(`preupload of ${n} found ${answer.alreadyHave.length}, expected ${present}`);
          counts.push(made.length);
          ops = operationCounts(made);
        });
        figures.push({
          refs: n,
          present,
          medianMs: median(runs),
          ddbRequests: Math.max(...counts),
          operations: [...ops].map(([op, k]) => `${k} ${op}`).join(', '),
        });
      }
      return figures;
    } finally {
      await close();
    }
  });
}
