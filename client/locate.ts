import type { BlobServerClient } from './http-client.js';
import type { Exchange } from './transport.js';

/**
 * The batch locate extension (DESIGN §9, lambda/core/read/locate.ts) as the client speaks it to
 * a server it does not trust: the endpoint from the discovery document, the locate request, and
 * its answer read bounded and checked in full before the read scheduler (batch-read.ts) acts on
 * any of it.
 */

/** The extension's answer (lambda/core/read/locate.ts). */
export interface LocateAnswer {
  ranges: { url: string; headers: Record<string, string>; length: number; blobs: { blobRef: string; size: number; offset: number }[] }[];
  inline: { blobRef: string; size: number; data: string }[];
  missing: string[];
  deferred: string[];
}

/** The most a locate answer or the discovery document may take (inline blobs are at most 2 MiB a answer, base64). */
const MAX_ANSWER_BYTES = 16 << 20;
/** A JSON body read through the exchange, bounded. */
export async function jsonOf(exchange: Exchange): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await exchange.read(MAX_ANSWER_BYTES)));
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * Every list a list, every inline blob a string, every range a URL of at least 1 byte holding
 * its blobs end to end, exactly (DESIGN §9: a range covers the blobs asked for and nothing
 * else), so its length is never more than what the blobs need.
 */
export function saneAnswer(a: LocateAnswer): boolean {
  const lists = [a.ranges ?? [], a.inline ?? [], a.missing ?? [], a.deferred ?? []];
  if (!lists.every(Array.isArray)) return false;
  return (
    (a.ranges ?? []).every(
      (r) =>
        typeof r === 'object' &&
        r !== null &&
        typeof r.url === 'string' &&
        typeof r.headers === 'object' &&
        r.headers !== null &&
        isCount(r.length) &&
        r.length > 0 &&
        Array.isArray(r.blobs) &&
        r.blobs.every((b) => typeof b === 'object' && b !== null && typeof b.blobRef === 'string' && isCount(b.offset) && isCount(b.size)) &&
        endToEnd(r.blobs, r.length),
    ) && (a.inline ?? []).every((b) => typeof b === 'object' && b !== null && typeof b.blobRef === 'string' && typeof b.data === 'string')
  );
}

/** Blobs that tile [0, length) exactly, in some order: no gap, no overlap. */
function endToEnd(blobs: readonly { offset: number; size: number }[], length: number): boolean {
  let end = 0;
  for (const b of [...blobs].sort((x, y) => x.offset - y.offset || x.size - y.size)) {
    if (b.offset !== end) return false;
    end += b.size;
  }
  return end === length;
}

/** An inline blob's bytes (base64 in the answer). */
export function base64Bytes(data: string): Uint8Array {
  const NodeBuffer = (globalThis as { Buffer?: { from(s: string, enc: 'base64'): Uint8Array } }).Buffer;
  if (NodeBuffer) return NodeBuffer.from(data, 'base64');
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The locate endpoint from the server's discovery document, or undefined when it has none (or names another origin). */
export async function locateEndpoint(client: BlobServerClient): Promise<string | undefined> {
  const base = `${client.server}/`;
  try {
    const res = await client.send('config', `${base}?camli.mode=config`, { headers: { accept: 'text/x-camli-configuration' } });
    if (res.res.status !== 200) {
      await res.discard();
      return undefined;
    }
    const root = ((await jsonOf(res)) as { locateBlobsRoot?: unknown }).locateBlobsRoot;
    if (typeof root !== 'string' || !root || !URL.canParse(root, base)) return undefined;
    // The credentials go along: only to the server's own origin.
    const url = new URL(root, base);
    return url.origin === new URL(base).origin ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** One locate request; its answer as sent (check it with `saneAnswer`). */
export async function locate(client: BlobServerClient, url: string, refs: readonly string[]): Promise<LocateAnswer> {
  const form = new URLSearchParams();
  // append, not set: the names are distinct, and set looks for an existing one each time (quadratic for 1,000 refs).
  for (const [i, r] of refs.entries()) form.append(`blob${i + 1}`, r);
  const res = await client.send('locate', url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    blobRefs: refs,
  });
  if (res.res.status !== 200) {
    await res.discard();
    throw new Error(`locate answered ${res.res.status}`);
  }
  return (await jsonOf(res)) as LocateAnswer;
}
