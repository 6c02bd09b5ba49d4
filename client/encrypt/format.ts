import { bech32 } from '@scure/base';
import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { isBlobRef } from '../blobref.js';

/**
 * Perkeep's `encrypt` storage format (pkg/blobserver/encrypt), byte for byte:
 *
 * - an encrypted blob is the version byte 0x02, then an age v1 file (X25519) to the
 *   identity's own recipient; it is stored under the sha224 ref of those bytes;
 * - a meta blob is encrypted the same way; its plaintext is `#camlistore/encmeta=2\n` then
 *   lines `<plainref>/<plainsize>/<encref>\n`, sorted by plaintext ref.
 *
 * The cryptography is the `age-encryption` package's; nothing here touches a cipher.
 */

export const VERSION = 2;
export const META_HEADER = '#camlistore/encmeta=2\n';

/** A key, as Perkeep's keyFile holds it: one line, an age X25519 identity. */
export interface AgeKey {
  identity: string;
  recipient: string;
}

/** Refusals of what the key or the server handed us: one line each, for the CLI to print as is. */
export class EncryptionError extends Error {
  override name = 'EncryptionError';
}

/**
 * The key in a key file's text. As Perkeep's readKeyFile: exactly one line (a final newline
 * allowed), an `AGE-SECRET-KEY-1...` X25519 identity.
 */
export async function parseKey(text: string): Promise<AgeKey> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new EncryptionError('empty key file');
  if (lines.length > 1) throw new EncryptionError("key file contained multiple lines (it holds one AGE-SECRET-KEY-1... line, as Perkeep's keyFile)");
  const identity = lines[0]!.replace(/\r$/, '').trim();
  if (!identity.startsWith('AGE-SECRET-KEY-1')) throw new EncryptionError('key file holds no age X25519 identity (AGE-SECRET-KEY-1...)');
  let recipient: string;
  try {
    recipient = await identityToRecipient(identity);
  } catch (err) {
    throw new EncryptionError(`key file holds no valid age X25519 identity: ${(err as Error).message}`);
  }
  return { identity, recipient };
}

/**
 * One Encrypter and one Decrypter per key, reused (each encrypt draws a fresh file key and
 * ephemeral share). The Decrypter holds the identity as a WebCrypto CryptoKey where X25519 is
 * there (Node, recent browsers): the library then imports the private key once instead of
 * twice per blob (OpenSSL's PKCS #8 import dominates the cost of a small blob); elsewhere it
 * holds the identity string and the library's pure-JS X25519.
 */
interface Engines {
  encrypter: Encrypter;
  decrypter: Promise<Decrypter>;
}
const engines = new WeakMap<AgeKey, Engines>();

/** RFC 8410's PKCS #8 header for a raw 32-byte X25519 private key: key serialization, no cryptography. */
const PKCS8_X25519 = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

async function makeDecrypter(identity: string): Promise<Decrypter> {
  const d = new Decrypter();
  try {
    const raw = bech32.decodeToBytes(identity).bytes;
    const pkcs8 = new Uint8Array([...PKCS8_X25519, ...raw]);
    d.addIdentity(await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']));
  } catch {
    d.addIdentity(identity);
  }
  return d;
}

function enginesOf(key: AgeKey): Engines {
  let e = engines.get(key);
  if (!e) {
    const encrypter = new Encrypter();
    encrypter.addRecipient(key.recipient);
    e = { encrypter, decrypter: makeDecrypter(key.identity) };
    engines.set(key, e);
  }
  return e;
}

/** `0x02 || age(plaintext)`, to the key's own recipient. */
export async function encryptBlob(key: AgeKey, plaintext: Uint8Array): Promise<Uint8Array> {
  const sealed = await enginesOf(key).encrypter.encrypt(plaintext);
  const out = new Uint8Array(sealed.length + 1);
  out[0] = VERSION;
  out.set(sealed, 1);
  return out;
}

/** The plaintext of an encrypted blob; `what` names it in the refusal. */
export async function decryptBlob(key: AgeKey, ciphertext: Uint8Array, what: string): Promise<Uint8Array> {
  if (ciphertext.length === 0) throw new EncryptionError(`${what} is empty`);
  if (ciphertext[0] !== VERSION) throw new EncryptionError(`${what} has unknown encrypted blob version ${ciphertext[0]}`);
  const d = await enginesOf(key).decrypter;
  try {
    return await d.decrypt(ciphertext.subarray(1));
  } catch (err) {
    const msg = (err as Error).message;
    if (/no identity matched/.test(msg)) throw new EncryptionError(`${what} is not encrypted to this key (wrong key file?)`);
    throw new EncryptionError(`${what} fails decryption (tampered or corrupt): ${msg}`);
  }
}

/** At most this many bytes of ciphertext hold `plainSize` bytes: version byte, age header, a tag per 64 KiB chunk. */
export function maxCiphertextSize(plainSize: number): number {
  return 1 + 1024 + 16 * (Math.ceil(plainSize / 65536) + 1) + plainSize;
}

export interface MetaEntry {
  plainRef: string;
  plainSize: number;
  encRef: string;
}

/** The bytes of a meta blob's plaintext: the header, then one line per entry, sorted by plaintext ref. */
export function formatMeta(entries: readonly MetaEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.plainRef < b.plainRef ? -1 : a.plainRef > b.plainRef ? 1 : 0));
  return new TextEncoder().encode(META_HEADER + sorted.map((e) => `${e.plainRef}/${e.plainSize}/${e.encRef}\n`).join(''));
}

/**
 * A meta blob's entries. Stricter than Perkeep's reader (which trusts the blob for being
 * encrypted to it): every field is checked, since anyone holding the public recipient can
 * write a meta blob that decrypts.
 */
export function parseMeta(plaintext: Uint8Array, what: string): MetaEntry[] {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(plaintext);
  if (!text.startsWith(META_HEADER))
    throw new EncryptionError(`${what} is not an encryption meta blob (first line ${JSON.stringify(text.split('\n')[0]!.slice(0, 40))})`);
  const body = text.slice(META_HEADER.length);
  if (body && !body.endsWith('\n')) throw new EncryptionError(`${what} ends in a partial line`);
  const out: MetaEntry[] = [];
  for (const line of body.split('\n').slice(0, -1)) {
    const parts = line.split('/');
    const size = Number(parts[1]);
    if (parts.length !== 3 || !isBlobRef(parts[0]!) || !isBlobRef(parts[2]!) || !/^\d{1,10}$/.test(parts[1]!) || size > 0xffffffff) {
      throw new EncryptionError(`${what} has a malformed line ${JSON.stringify(line.slice(0, 80))}`);
    }
    out.push({ plainRef: parts[0]!, plainSize: size, encRef: parts[2]! });
  }
  return out;
}
