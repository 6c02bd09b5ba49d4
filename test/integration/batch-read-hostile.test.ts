import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BatchReader } from '../../client/batch-read.js';
import { blobRefOf } from '../../client/hash.js';
import { BlobServerClient } from '../../client/http-client.js';
import { restoreSchema } from '../../client/node/restore.js';
import { directorySchema, fileSchema, parseSchema, staticSets } from '../../client/schema.js';

/**
 * BatchReader (and restore through it) against a real HTTP server whose locate answers lie
 * about sizes (issue 25, finding 4): every range declared as long as the client accepts, or
 * longer, while the range bodies come short or never end. The bytes the reader reserves (its
 * own deterministic count: what it has fetched and not let go, plus the most each read in
 * flight may still bring) must stay within the documented 64 MiB, and every file must still be
 * restored byte for byte (through GET /camli/<ref>, which the server answers truthfully).
 */

const MIB = 1 << 20;
const BOUND = 64 * MIB;
const FILES = 24;
const CHUNK = 200 << 10;

type Lie = (ref: string, size: number) => { length: number; blobs: { blobRef: string; size: number; offset: number }[] };
/** How a range's body comes: the blob alone (shorter than declared), or without end for every `endlessEvery`-th range. */
type RangeBody = 'short' | 'endless';

interface Hostile {
  url: string;
  lie: Lie;
  body: RangeBody;
  rangeGets: number;
  close(): Promise<void>;
}

async function startHostile(blobs: Map<string, Buffer>): Promise<Hostile> {
  const filler = Buffer.alloc(64 << 10, 0x61);
  const state: Hostile = {
    url: '',
    lie: () => ({ length: 0, blobs: [] }),
    body: 'short',
    rangeGets: 0,
    close: async () => undefined,
  };
  const form = (req: IncomingMessage) =>
    new Promise<string[]>((resolve) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => resolve([...new URLSearchParams(text).values()]));
    });
  const server = createServer(async (req, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/' && url.searchParams.get('camli.mode') === 'config') return void res.end(JSON.stringify({ locateBlobsRoot: '/camli/locate' }));
    if (url.pathname === '/camli/locate') {
      const refs = (await form(req)).filter((r) => blobs.has(r));
      const ranges = refs.map((ref) => ({ url: `${state.url}/range/${ref}`, headers: {}, ...state.lie(ref, blobs.get(ref)!.length) }));
      return void res.end(JSON.stringify({ ranges, inline: [], missing: [], deferred: [] }));
    }
    const range = /^\/range\/(.+)$/.exec(url.pathname);
    if (range) {
      state.rangeGets++;
      res.writeHead(206, { 'content-type': 'application/octet-stream' });
      // Every fourth range (by ref) never ends when asked to: enough to hold the reads in flight at their bound.
      if (state.body === 'short' || range[1]!.charCodeAt(10) % 4) return void res.end(blobs.get(range[1]!));
      // Never ends: filler until the client hangs up.
      const more = () => {
        while (!res.destroyed) if (!res.write(filler)) return void res.once('drain', more);
      };
      res.on('close', () => res.destroy());
      return more();
    }
    const get = /^\/camli\/(sha224-[0-9a-f]{56})$/.exec(url.pathname);
    const bytes = get && blobs.get(get[1]!);
    if (!bytes) {
      res.writeHead(404);
      return void res.end();
    }
    res.writeHead(200, { 'content-length': String(bytes.length) });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return state;
}

describe('BatchReader: memory bounded whatever locate declares', () => {
  const blobs = new Map<string, Buffer>();
  const put = (bytes: Uint8Array) => {
    const ref = blobRefOf(bytes);
    blobs.set(ref, Buffer.from(bytes));
    return ref;
  };
  const contents: Buffer[] = [];
  let top = '';
  let hostile: Hostile;
  let work: string;
  let n = 0;

  before(async () => {
    const members: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const bytes = randomBytes(CHUNK);
      contents.push(bytes);
      members.push(put(fileSchema({ fileName: `f${i}` }, [{ blobRef: put(bytes), size: bytes.length }]).bytes));
    }
    const [set] = staticSets(members);
    put(set!.bytes);
    top = put(directorySchema({ fileName: 'top' }, set!.ref).bytes);
    hostile = await startHostile(blobs);
    work = await mkdtemp(join(tmpdir(), 'batch-hostile-'));
  });
  after(async () => {
    await hostile.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Restores the tree through a BatchReader; returns the reader's figures. */
  async function restore() {
    const client = new BlobServerClient({ server: hostile.url, auth: 'none', idleTimeoutMs: 5_000 });
    const reader = new BatchReader(client);
    const out = join(work, `run${++n}`);
    await mkdir(out);
    const schema = parseSchema((await reader.get(top))!)!;
    await restoreSchema(reader, top, schema, out);
    for (let i = 0; i < FILES; i++) assert.ok((await readFile(join(out, 'top', `f${i}`))).equals(contents[i]!), `f${i} restored byte for byte`);
    return reader.stats;
  }

  it('every range declared at 80 MiB with short bodies: refused as out of bounds, nothing reserved past 64 MiB', async () => {
    hostile.lie = (ref, size) => ({ length: 80 * MIB, blobs: [{ blobRef: ref, size, offset: 0 }] });
    hostile.body = 'short';
    hostile.rangeGets = 0;
    const stats = await restore();
    console.log(`peak reserved ${stats.peakReservedBytes} bytes, ${hostile.rangeGets} range GETs, ${stats.serverGets} server GETs`);
    assert.ok(stats.peakReservedBytes <= BOUND, `${stats.peakReservedBytes} bytes reserved at once`);
    // Such a range is not the blobs it lists, end to end: never fetched.
    assert.equal(hostile.rangeGets, 0);
  });

  it('ranges of 80 MiB made of filler entries (well formed, longer than any blob handed out): never fetched, nothing reserved past 64 MiB', async () => {
    hostile.lie = (ref, size) => ({
      length: 80 * MIB,
      blobs: [
        { blobRef: ref, size, offset: 0 },
        { blobRef: `sha224-${'0'.repeat(56)}`, size: 80 * MIB - size, offset: size },
      ],
    });
    hostile.body = 'endless';
    hostile.rangeGets = 0;
    const stats = await restore();
    assert.ok(stats.peakReservedBytes <= BOUND, `${stats.peakReservedBytes} bytes reserved at once`);
    assert.equal(hostile.rangeGets, 0);
  });

  it('every range declared at the largest length accepted (16 MiB, the blob plus filler entries), some bodies never ending: within 64 MiB', async () => {
    // A well-formed range (blobs end to end) whose other entries are refs nobody asked for.
    hostile.lie = (ref, size) => ({
      length: 16 * MIB,
      blobs: [
        { blobRef: ref, size, offset: 0 },
        { blobRef: `sha224-${'0'.repeat(56)}`, size: 16 * MIB - size, offset: size },
      ],
    });
    hostile.body = 'endless';
    hostile.rangeGets = 0;
    const stats = await restore();
    console.log(`peak reserved ${stats.peakReservedBytes} bytes, ${hostile.rangeGets} range GETs, ${stats.serverGets} server GETs`);
    assert.ok(hostile.rangeGets > 0, 'the ranges were fetched');
    assert.ok(stats.peakReservedBytes > 0 && stats.peakReservedBytes <= BOUND, `${stats.peakReservedBytes} bytes reserved at once`);
  });

  it('the same with short bodies: within 64 MiB', async () => {
    hostile.body = 'short';
    hostile.rangeGets = 0;
    const stats = await restore();
    console.log(`peak reserved ${stats.peakReservedBytes} bytes, ${hostile.rangeGets} range GETs, ${stats.serverGets} server GETs`);
    assert.ok(hostile.rangeGets > 0, 'the ranges were fetched');
    assert.ok(stats.peakReservedBytes > 0 && stats.peakReservedBytes <= BOUND, `${stats.peakReservedBytes} bytes reserved at once`);
  });
});
