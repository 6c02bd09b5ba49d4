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
