import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateX25519Identity } from 'age-encryption';
import { decryptBlob, encryptBlob, formatMeta, maxCiphertextSize, META_HEADER, parseKey, parseMeta } from '../../client/encrypt/format.js';

const REF_A = `sha224-${'a'.repeat(56)}`;
const REF_B = `sha224-${'b'.repeat(56)}`;
const REF_C = `sha1-${'c'.repeat(40)}`;

describe("Perkeep's encrypt format", () => {
  it("reads a key file as Perkeep's readKeyFile: one identity line, a final newline allowed", async () => {
    const id = await generateX25519Identity();
    assert.equal((await parseKey(id)).identity, id);
    assert.equal((await parseKey(`${id}\n`)).identity, id);
    assert.match((await parseKey(id)).recipient, /^age1/);
    await assert.rejects(parseKey(''), /empty key file/);
    // age-keygen's own file has comment lines: Perkeep refuses it, and so do we.
    await assert.rejects(parseKey(`# created: 2026\n${id}\n`), /multiple lines/);
    await assert.rejects(parseKey(`${id}\n\n`), /multiple lines/);
    await assert.rejects(parseKey('age1qqqq\n'), /no age X25519 identity/);
    await assert.rejects(parseKey('AGE-SECRET-KEY-1QQQQ\n'), /no valid age X25519 identity/);
  });

  it('an encrypted blob is the version byte 2 then an age file, and decrypts only with its key', async () => {
    const key = await parseKey(await generateX25519Identity());
    const other = await parseKey(await generateX25519Identity());
    const plain = new TextEncoder().encode('hello');
    const sealed = await encryptBlob(key, plain);
    assert.equal(sealed[0], 2);
    assert.equal(new TextDecoder().decode(sealed.subarray(1, 22)), 'age-encryption.org/v1');
    assert.ok(sealed.length <= maxCiphertextSize(plain.length));
    assert.notDeepEqual(await encryptBlob(key, plain), sealed, 'a fresh file key each time');
    assert.deepEqual(await decryptBlob(key, sealed, 'x'), plain);
    await assert.rejects(decryptBlob(other, sealed, 'blob X'), { message: 'blob X is not encrypted to this key (wrong key file?)' });
    const flipped = sealed.slice();
    flipped[flipped.length - 1]! ^= 1;
    await assert.rejects(decryptBlob(key, flipped, 'blob X'), { message: /^blob X fails decryption \(tampered or corrupt\): / });
    const v1 = sealed.slice();
    v1[0] = 1;
    await assert.rejects(decryptBlob(key, v1, 'blob X'), { message: 'blob X has unknown encrypted blob version 1' });
    const big = new Uint8Array(1 << 20);
    assert.ok((await encryptBlob(key, big)).length <= maxCiphertextSize(big.length));
  });

  it('meta: the header, then sorted <plainref>/<size>/<encref> lines', () => {
    const bytes = formatMeta([
      { plainRef: REF_B, plainSize: 7, encRef: REF_A },
      { plainRef: REF_A, plainSize: 4294967295, encRef: REF_C },
    ]);
    assert.equal(new TextDecoder().decode(bytes), `${META_HEADER}${REF_A}/4294967295/${REF_C}\n${REF_B}/7/${REF_A}\n`);
    assert.deepEqual(parseMeta(bytes, 'm'), [
      { plainRef: REF_A, plainSize: 4294967295, encRef: REF_C },
      { plainRef: REF_B, plainSize: 7, encRef: REF_A },
    ]);
    assert.deepEqual(parseMeta(new TextEncoder().encode(META_HEADER), 'm'), []);
  });

  it('meta that is not exactly the format is refused with the line at fault', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    assert.throws(() => parseMeta(enc(`#camlistore/encmeta=1\n${REF_A}/1/${REF_B}\n`), 'm'), /m is not an encryption meta blob/);
    assert.throws(() => parseMeta(enc(`${META_HEADER}${REF_A}/1/${REF_B}`), 'm'), /m ends in a partial line/);
    for (const bad of [`${REF_A}/1`, `${REF_A}/-1/${REF_B}`, `${REF_A}/4294967296/${REF_B}`, `sha256-00/1/${REF_B}`, `${REF_A}/1/${REF_B}/x`, `${REF_A}/1/`]) {
      assert.throws(() => parseMeta(enc(`${META_HEADER}${bad}\n`), 'm'), { message: `m has a malformed line ${JSON.stringify(bad.slice(0, 80))}` });
    }
  });
});
