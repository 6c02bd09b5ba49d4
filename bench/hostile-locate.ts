import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blobRefOf } from '../client/hash.js';
import { directorySchema, fileSchema, staticSets } from '../client/schema.js';
import { median } from './measure.js';
import { fmt, table } from './table.js';

/**
 * Peak RSS of `blobserver get` restoring a 24-file tree (200 KiB each) from a server whose
 * locate answers tell the truth, and from one that declares every range at 80 MiB (issue 25,
 * finding 4: a peak of 975 MB before the fix), the blob followed by filler either as one
 * entry alone or with a filler entry making the range well formed; the range bodies are the
 * full 80 MiB. Rounds interleave the three servers; peak RSS from /usr/bin/time (GNU time, %M).
 *
 *   npm run build && nice npx tsx bench/hostile-locate.ts [ROUNDS=3]
 */

const ROUNDS = Number(process.argv[2] ?? 3);
const MIB = 1 << 20;
const LIE = 80 * MIB;
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));
type Mode = 'truthful' | 'lying' | 'lying, well formed';

const blobs = new Map<string, Buffer>();
const put = (bytes: Uint8Array) => {
  const ref = blobRefOf(bytes);
  blobs.set(ref, Buffer.from(bytes));
  return ref;
};
const members: string[] = [];
for (let i = 0; i < 24; i++) {
  const bytes = randomBytes(200 << 10);
  members.push(put(fileSchema({ fileName: `f${i}` }, [{ blobRef: put(bytes), size: bytes.length }]).bytes));
}
const [set] = staticSets(members);
put(set!.bytes);
const top = put(directorySchema({ fileName: 'top' }, set!.ref).bytes);

let mode: Mode = 'truthful';
const filler = Buffer.alloc(MIB, 0x61);
const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => resolve(text));
  });
const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/') return void res.end(JSON.stringify({ locateBlobsRoot: '/camli/locate' }));
  if (url.pathname === '/camli/locate') {
    const refs = [...new URLSearchParams(await body(req)).values()].filter((r) => blobs.has(r));
    const ranges = refs.map((ref) => {
      const size = blobs.get(ref)!.length;
      const length = mode === 'truthful' ? size : LIE;
      const pad = mode === 'lying, well formed' ? [{ blobRef: `sha224-${'0'.repeat(56)}`, size: LIE - size, offset: size }] : [];
      return { url: `${base}/range/${ref}`, headers: {}, length, blobs: [{ blobRef: ref, size, offset: 0 }, ...pad] };
    });
    return void res.end(JSON.stringify({ ranges, inline: [], missing: [], deferred: [] }));
  }
  const range = /^\/range\/(.+)$/.exec(url.pathname);
  if (range) {
    // The blob, then (lying) filler up to the declared length.
    const bytes = blobs.get(range[1]!)!;
    let left = (mode === 'truthful' ? bytes.length : LIE) - bytes.length;
    res.writeHead(206, { 'content-length': String(bytes.length + left) });
    res.write(bytes);
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, MIB);
        left -= n;
        if (!res.write(filler.subarray(0, n))) return void res.once('drain', more);
      }
      res.end();
    };
    return more();
  }
  const get = /^\/camli\/(.+)$/.exec(url.pathname);
  const bytes = get && blobs.get(get[1]!);
  if (!bytes) {
    res.writeHead(404);
    return void res.end();
  }
  res.end(bytes);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function once(): Promise<{ mb: number; seconds: number }> {
  const out = mkdtempSync(join(tmpdir(), 'bench-hostile-locate-'));
  try {
    const child = spawn('/usr/bin/time', ['-f', '%M', process.execPath, BIN, 'get', top, '-o', out], {
      env: { PATH: process.env['PATH'], BLOBSERVER_URL: base, BLOBSERVER_AUTH: 'none', CAMLI_CONFIG_DIR: '/nonexistent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const started = performance.now();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`blobserver get exited ${code}: ${stderr}`);
    return { mb: (Number(stderr.trim().split('\n').pop()) * 1024) / 1e6, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const modes: Mode[] = ['truthful', 'lying', 'lying, well formed'];
const runs = new Map<Mode, { mb: number; seconds: number }[]>(modes.map((m) => [m, []]));
try {
  for (let r = 0; r < ROUNDS; r++)
    for (const m of modes) {
      mode = m;
      runs.get(m)!.push(await once());
    }
} finally {
  server.closeAllConnections();
  server.close();
}
console.log(`blobserver get of 24 files x 200 KiB, node ${process.version}, ${ROUNDS} interleaved rounds; MB = 10^6 bytes\n`);
console.log(
  table(
    ['locate answers', 'peak RSS, median MB', 'peak RSS, max MB', 'seconds, median'],
    modes.map((m) => {
      const r = runs.get(m)!;
      return [m, fmt(median(r.map((x) => x.mb))), fmt(Math.max(...r.map((x) => x.mb))), fmt(median(r.map((x) => x.seconds)), 2)];
    }),
  ),
);
