import { sha1 as nobleSha1 } from '@noble/hashes/legacy';
import { sha224 as nobleSha224 } from '@noble/hashes/sha2';

/**
 * SHA-224 (Perkeep's default) and SHA-1 digests. SHA-224 is not in Web Crypto, so: Node's
 * `node:crypto` when it is there (native, fastest), otherwise @noble/hashes (audited, pure JS,
 * no dependencies), which is what a browser bundle uses.
 */

export type HashName = 'sha224' | 'sha1';

export interface Hasher {
  update(data: Uint8Array): Hasher;
  /** Lower-case hex digest; the hasher cannot be used afterwards. */
  hex(): string;
}

type NodeCrypto = typeof import('node:crypto');

const nodeCrypto: NodeCrypto | undefined = await loadNodeCrypto();

async function loadNodeCrypto(): Promise<NodeCrypto | undefined> {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  try {
    return await import('node:crypto');
  } catch {
    return undefined;
  }
}

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Which implementation `createHasher` uses in this runtime. */
export const hashImplementation: 'node:crypto' | '@noble/hashes' = nodeCrypto ? 'node:crypto' : '@noble/hashes';

/** A faster implementation where node:crypto is absent (the page's WebAssembly SHA-224); undefined: none for that hash now. */
export type HasherSource = (name: HashName) => Hasher | undefined;
let fasterHasher: HasherSource | undefined;

/** Installs `source`, which `createHasher` tries before @noble/hashes where node:crypto is absent. */
export function useHasherSource(source: HasherSource | undefined): void {
  fasterHasher = source;
}

export function createHasher(name: HashName): Hasher {
  if (!nodeCrypto) return fasterHasher?.(name) ?? nobleHasher(name);
  const h = nodeCrypto.createHash(name);
  const hasher: Hasher = { update: (d) => (h.update(d), hasher), hex: () => h.digest('hex') };
  return hasher;
}

/** The pure-JS implementation (what browsers use). */
export function nobleHasher(name: HashName): Hasher {
  const h = (name === 'sha224' ? nobleSha224 : nobleSha1).create();
  const hasher: Hasher = { update: (d) => (h.update(d), hasher), hex: () => toHex(h.digest()) };
  return hasher;
}

/** node:crypto's one-shot digest (Node 20.12+): no Hash object per blob. */
const oneShot = nodeCrypto && typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined;
const utf8 = new TextEncoder();

/** The blobref (`sha224-<hex>` by default) of these bytes or of this string's UTF-8. */
export function blobRefOf(data: Uint8Array | string, hash: HashName = 'sha224'): string {
  if (oneShot) return `${hash}-${oneShot(hash, data, 'hex')}`;
  const bytes = typeof data === 'string' ? utf8.encode(data) : data;
  return `${hash}-${createHasher(hash).update(bytes).hex()}`;
}
