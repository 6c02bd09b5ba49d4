import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { BatchReader } from '../../client/batch-read.js';
import { BlobServerClient } from '../../client/http-client.js';

/**
 * BatchReader against a scripted server that answers discovery and locate as it likes (the
 * server may be hostile): whatever it says, every blob still comes back verified, through
 * GET /camli/<ref> when the extension's answer is unusable, and nothing hangs.
 */
const SERVER = 'http://blobs.test';
const blob = (text: string) => {
  const bytes = new TextEncoder().encode(text);
  return { ref: `sha224-${createHash('sha224').update(bytes).digest('hex')}`, bytes };
};

function scripted(locateRoot: string, locate: (refs: string[]) => unknown, blobs: ReturnType<typeof blob>[]) {
  const asked: string[] = [];
  const fetchImpl: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(String(input));
    asked.push(`${init?.method ?? 'GET'} ${url.origin}${url.pathname}`);
    if (url.origin !== SERVER) return new Response('not here', { status: 599 });
    if (url.pathname === '/') return Response.json({ locateBlobsRoot: locateRoot });
    if (url.pathname === '/camli/locate') return Response.json(locate([...new URLSearchParams(String(init?.body)).values()]));
    const b = blobs.find((x) => url.pathname === `/camli/${x.ref}`);
    return b ? new Response(b.bytes) : new Response('', { status: 404 });
  };
  const client = new BlobServerClient({ server: SERVER, fetch: fetchImpl, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
  return { reader: new BatchReader(client), asked };
}

async function readAll(reader: BatchReader, refs: string[]) {
  const out: (Uint8Array | undefined)[] = [];
  for await (const { bytes } of reader.readMany(refs)) out.push(bytes);
  return out;
}

describe('BatchReader against a hostile server', () => {
  const blobs = [blob('one'), blob('two')];
  const refs = blobs.map((b) => b.ref);

  it('a locate endpoint on another origin is never called (the credentials would go along)', async () => {
    const { reader, asked } = scripted('http://elsewhere.test/camli/locate', () => ({}), blobs);
    assert.deepEqual(
      await readAll(reader, refs),
      blobs.map((b) => b.bytes),
    );
    assert.ok(!asked.some((a) => a.includes('elsewhere.test')), asked.join('\n'));
  });

  it('a range without a usable length sends the batch through GET /camli/<ref>', async () => {
    const answer = {
      ranges: [{ url: `${SERVER}/endless`, headers: {}, blobs: refs.map((r, i) => ({ blobRef: r, size: 3, offset: 3 * i })) }],
      inline: [],
      missing: [],
      deferred: [],
    };
    const { reader, asked } = scripted('/camli/locate', () => answer, blobs);
    assert.deepEqual(
      await readAll(reader, refs),
      blobs.map((b) => b.bytes),
    );
    assert.ok(!asked.some((a) => a.includes('/endless')), asked.join('\n'));
  });

  it('a server that leaves every ref out of its answers is asked a bounded number of times', async () => {
    let locates = 0;
    const { reader } = scripted('/camli/locate', () => (locates++, {}), blobs);
    assert.deepEqual(
      await readAll(reader, refs),
      blobs.map((b) => b.bytes),
    );
    assert.ok(locates <= 10, `${locates} locate requests`);
  });
});

/**
 * A collection moving a blob between the reader's reads (issue 25, finding 1): locate named its
 * old place, or called it missing while the repack re-pointed its row, and the server's GET
 * raced the same way. The reader locates it afresh (bounded) before calling it absent.
 */
describe('BatchReader when a collection moves a blob between its reads', () => {
  const moved = blob('moved by a repack');
  const old = { url: `${SERVER}/s3/old-pack`, headers: {}, length: moved.bytes.length, blobs: [{ blobRef: moved.ref, size: moved.bytes.length, offset: 0 }] };
  const now = { ...old, url: `${SERVER}/s3/new-pack` };

  /** locate answers from `answers` in turn (the last one repeated); GET /camli/<ref> answers 404 `gets404` times first. */
  function moving(answers: unknown[], gets404: number) {
    let locates = 0;
    let gets = 0;
    const fetchImpl: typeof globalThis.fetch = async (input) => {
      const url = new URL(String(input));
      if (url.pathname === '/') return Response.json({ locateBlobsRoot: '/camli/locate' });
      if (url.pathname === '/camli/locate') return Response.json(answers[Math.min(locates++, answers.length - 1)]);
      // The old pack is gone; the new one holds the blob.
      if (url.pathname === '/s3/old-pack') return new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404 });
      if (url.pathname === '/s3/new-pack') return new Response(moved.bytes, { status: 206 });
      if (url.pathname === '/s3/refused') return new Response('<Error><Code>AccessDenied</Code></Error>', { status: 403 });
      if (url.pathname === `/camli/${moved.ref}`) return gets++ < gets404 ? new Response('', { status: 404 }) : new Response(moved.bytes);
      return new Response('', { status: 404 });
    };
    const client = new BlobServerClient({ server: SERVER, fetch: fetchImpl, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    return { reader: new BatchReader(client), counts: () => ({ locates, gets }) };
  }
  const answer = (fields: object) => ({ ranges: [], inline: [], missing: [], deferred: [], ...fields });

  it('a range whose pack is gone (404) and a GET that raced: located afresh, read from the new pack', async () => {
    const { reader, counts } = moving([answer({ ranges: [old] }), answer({ ranges: [now] })], Infinity);
    assert.deepEqual(await readAll(reader, [moved.ref]), [moved.bytes]);
    assert.equal(counts().locates, 2);
  });

  it('a range refused (403) the same way', async () => {
    const refused = { ...old, url: `${SERVER}/s3/refused` };
    const { reader } = moving([answer({ ranges: [refused] }), answer({ ranges: [now] })], Infinity);
    assert.deepEqual(await readAll(reader, [moved.ref]), [moved.bytes]);
  });

  it('"missing" answered during a collection, and a GET that raced: located afresh, read from the new pack', async () => {
    const { reader } = moving([answer({ missing: [moved.ref] }), answer({ ranges: [now] })], Infinity);
    assert.deepEqual(await readAll(reader, [moved.ref]), [moved.bytes]);
  });

  it('"missing" answered, then the GET finds it: no further locate', async () => {
    const { reader, counts } = moving([answer({ missing: [moved.ref] })], 0);
    assert.deepEqual(await readAll(reader, [moved.ref]), [moved.bytes]);
    assert.deepEqual(counts(), { locates: 1, gets: 1 });
  });

  it('a blob really absent is called absent after a bounded number of tries', async () => {
    const { reader, counts } = moving([answer({ missing: [moved.ref] })], Infinity);
    assert.deepEqual(await readAll(reader, [moved.ref]), [undefined]);
    assert.deepEqual(counts(), { locates: 3, gets: 3 });
  });
});

describe('BatchReader memory bound', () => {
  it('a blob asked for out of order when read-ahead fills the bound pushes out the furthest read-ahead, which is fetched again in its turn', async () => {
    const MIB = 1 << 20;
    const blobs = ['a', 'b', 'c'].map((x) => blob(`blob ${x}`));
    // Each blob in a range of its own, padded to 16 MiB with an entry nobody asks for.
    const rangeOf = (b: (typeof blobs)[number]) => ({
      url: `${SERVER}/s3/${b.ref}`,
      headers: {},
      length: 16 * MIB,
      blobs: [
        { blobRef: b.ref, size: b.bytes.length, offset: 0 },
        { blobRef: `sha224-${'0'.repeat(56)}`, size: 16 * MIB - b.bytes.length, offset: b.bytes.length },
      ],
    });
    const fetched: string[] = [];
    const fetchImpl: typeof globalThis.fetch = async (input) => {
      const url = new URL(String(input));
      if (url.pathname === '/') return Response.json({ locateBlobsRoot: '/camli/locate' });
      if (url.pathname === '/camli/locate') return Response.json({ ranges: blobs.map(rangeOf), inline: [], missing: [], deferred: [] });
      const b = blobs.find((x) => url.pathname === `/s3/${x.ref}`);
      if (!b) return new Response('', { status: 404 });
      fetched.push(b.ref);
      const body = new Uint8Array(16 * MIB);
      body.set(b.bytes);
      return new Response(body, { status: 206 });
    };
    const client = new BlobServerClient({ server: SERVER, fetch: fetchImpl, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const reader = new BatchReader(client, { maxBufferedBytes: 32 * MIB });
    const [a, b, c] = blobs as [(typeof blobs)[number], (typeof blobs)[number], (typeof blobs)[number]];
    reader.prefetch([a.ref, b.ref, c.ref]);
    // Read-ahead fills the bound with a and b.
    while (fetched.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(fetched, [a.ref, b.ref]);
    assert.deepEqual(await reader.get(c.ref), c.bytes);
    assert.deepEqual(await reader.get(a.ref), a.bytes);
    assert.deepEqual(await reader.get(b.ref), b.bytes);
    // b (the furthest of the read-ahead) made room for c, then came again; a was kept.
    assert.deepEqual(fetched, [a.ref, b.ref, c.ref, b.ref]);
    assert.equal(reader.stats.serverGets, 0);
    assert.ok(reader.stats.peakReservedBytes <= 32 * MIB, `${reader.stats.peakReservedBytes} bytes reserved at once`);
  });
});
