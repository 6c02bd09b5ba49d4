import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './measure.js';
import { makeTree, runTool, TREE } from './perkeep.js';
import { fmt, table } from './table.js';

/**
 * The client alone: `blobserver put` of the 125 MB tree (2,000 x 32 KiB + 20 x 3 MB) to a server
 * that stores and verifies nothing, against the floor, one node process reading and SHA-224-ing
 * the same files; both spawned with the same node, interleaved, process start included, medians.
 * BENCH_CLIENT_BASE names another build's bin (e.g. main's client copied to /tmp) to time it in
 * the same interleaving, for a before/after. Alone: `npm run bench:client-alone`;
 * BENCH_CLIENT_ALONE_REPS sets the repetitions (default 3).
 */

const TARGET_RATIO = 3.5;
const BIN = fileURLToPath(new URL('../client/bin/blobserver.js', import.meta.url));

/** The floor: read every file under the tree and SHA-224 it, one file at a time. */
const FLOOR_SCRIPT = `
const { readdir, readFile } = require('node:fs/promises');
const { createHash } = require('node:crypto');
const { join } = require('node:path');
async function walk(dir) {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += await walk(p);
    else { createHash('sha224').update(await readFile(p)).digest('hex'); n++; }
  }
  return n;
}
walk(process.argv[1]).then((n) => console.log(n));
`;

/** What the client's upload path needs answered, and nothing stored or checked. */
export async function nullServer() {
  const marker = Buffer.from('\r\nContent-Disposition: form-data; name="');
  /** More than a part head's marker and name. */
  const KEEP = marker.length + 300;
  let url = '';
  const answer = (res: ServerResponse, body: unknown) => {
    const json = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  };
  const target = () => ({ uploadUrl: `${url}/camli/upload/null`, maxUploadSize: 5 << 20, uploadUrlExpirationSeconds: 3600 });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/camli/preupload')) {
      req.resume();
      req.on('end', () => answer(res, { alreadyHave: [], ...target() }));
      return;
    }
    // An upload: list the parts' names (refs) as received, scanning the body for part heads only
    // (indexOf, no copy of the body): a part head starting in a chunk's last KEEP bytes is read
    // with the next chunk, from a copy of those bytes.
    const received: { blobRef: string; size: number }[] = [];
    const scan = (buf: Buffer, before: number) => {
      for (let i = buf.indexOf(marker); i >= 0 && i < before; i = buf.indexOf(marker, i + 1)) {
        const from = i + marker.length;
        const quote = buf.indexOf(0x22, from);
        if (quote > 0) received.push({ blobRef: buf.toString('latin1', from, quote), size: 0 });
      }
    };
    let tail: Buffer = Buffer.alloc(0);
    req.on('data', (chunk: Buffer) => {
      if (chunk.length < 2 * KEEP) {
        tail = Buffer.concat([tail, chunk]);
        if (tail.length > 4 * KEEP) {
          scan(tail, tail.length - KEEP);
          tail = Buffer.from(tail.subarray(tail.length - KEEP));
        }
        return;
      }
      scan(Buffer.concat([tail, chunk.subarray(0, KEEP)]), tail.length);
      scan(chunk, chunk.length - KEEP);
      tail = Buffer.from(chunk.subarray(chunk.length - KEEP));
    });
    req.on('end', () => {
      scan(tail, tail.length);
      answer(res, { received });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface ClientAloneFigures {
  bytes: number;
  floorMs: number;
  clientMs: number;
  /** Median of the per-repetition ratios client / floor. */
  ratio: number;
  baseMs?: number;
}

/** Prints the client-alone comparison (its section number given by the caller) and answers its figures. */
export async function clientAloneBench(section = '15'): Promise<ClientAloneFigures> {
  const reps = Number(process.env['BENCH_CLIENT_ALONE_REPS'] || 3);
  const base = process.env['BENCH_CLIENT_BASE'];
  const work = await mkdtemp(join(tmpdir(), 'blobserver-bench-alone-'));
  const server = await nullServer();
  try {
    const tree = join(work, 'tree');
    const bytes = await makeTree(tree);
    const env = { BLOBSERVER_URL: server.url, BLOBSERVER_AUTH: 'none' };
    const sides: { name: string; run: () => Promise<string> }[] = [
      { name: 'floor', run: () => runTool(process.execPath, ['-e', FLOOR_SCRIPT, tree], {}) },
      { name: 'client', run: () => runTool(process.execPath, [BIN, 'put', tree], env) },
    ];
    if (base) sides.push({ name: 'base', run: () => runTool(process.execPath, [base, 'put', tree], env) });
    const ms = new Map<string, number[]>(sides.map((s) => [s.name, []]));
    const refs = new Set<string>();
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order so no side always runs first after a pause.
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(rep + k) % sides.length]!;
        const t = performance.now();
        const out = await side.run();
        ms.get(side.name)!.push(performance.now() - t);
        if (side.name !== 'floor') refs.add(out);
      }
    }
    const floor = ms.get('floor')!;
    const client = ms.get('client')!;
    const figures: ClientAloneFigures = {
      bytes,
      floorMs: median(floor),
      clientMs: median(client),
      ratio: median(client.map((c, i) => c / floor[i]!)),
      ...(base ? { baseMs: median(ms.get('base')!) } : {}),
    };
    console.log(
      `\n${section}. the client alone: put of ${TREE.small.count} x 32 KiB + ${TREE.large.count} x 3 MB files (${fmt(bytes / 1e6)} MB) to a server that stores and verifies nothing, node ${process.version}, median of ${reps}, interleaved`,
    );
    const row = (what: string, runMs: number) => [what, fmt(runMs / 1000, 2), fmt(bytes / 1e6 / (runMs / 1000)), fmt(runMs / figures.floorMs, 1) + 'x'];
    const rows = [
      row('one node process reads and SHA-224s every file (the floor)', figures.floorMs),
      row('blobserver put (the client alone)', figures.clientMs),
    ];
    if (figures.baseMs !== undefined) rows.push(row(`blobserver put, ${base}`, figures.baseMs));
    console.log(table(['what', 'wall s', 'MB/s', 'of floor'], rows));
    console.log(`   root refs of every put: ${refs.size === 1 ? 'the same' : `DIFFER (${[...refs].join(', ')})`}`);
    console.log(
      `   target: the client alone within ${TARGET_RATIO}x of the floor: ${figures.ratio <= TARGET_RATIO ? 'met' : 'NOT met'} (${fmt(figures.ratio, 2)}x, median of per-run ratios)`,
    );
    return figures;
  } finally {
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await clientAloneBench();
