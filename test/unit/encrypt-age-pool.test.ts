import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateX25519Identity } from 'age-encryption';
import { AgePool, ageWorkersWanted } from '../../client/encrypt/age-pool.js';
import { inlineAgeWork } from '../../client/encrypt/age-work.js';
import { EncryptionError, parseKey } from '../../client/encrypt/format.js';
import { blobRefOf } from '../../client/hash.js';

describe('age work in worker threads', () => {
  const pool = new AgePool(2);
  after(() => pool.close());

  it('seals in a thread what opens inline and the reverse: the same format, the ciphertext named by its sha224', async () => {
    const key = await parseKey(await generateX25519Identity());
    const plain = new TextEncoder().encode('a blob sealed in a worker thread');
    const sealed = await pool.seal(key, plain);
    assert.equal(sealed.bytes[0], 2);
    assert.equal(sealed.ref, blobRefOf(sealed.bytes));
    const opened = await inlineAgeWork.open(key, sealed.bytes, 'x', { ref: blobRefOf(plain), size: plain.length });
    assert.deepEqual(opened, { plaintext: plain, matches: true });
    const back = await pool.open(key, (await inlineAgeWork.seal(key, plain)).bytes, 'x', { ref: blobRefOf(plain), size: plain.length });
    assert.deepEqual(back, { plaintext: plain, matches: true });
  });

  it("leaves the caller's bytes usable, a view into a shared buffer included", async () => {
    const key = await parseKey(await generateX25519Identity());
    const whole = Buffer.from('0123456789'.repeat(1000));
    const view = whole.subarray(10, 5010);
    const sealed = await pool.seal(key, view);
    assert.equal(whole.length, 10_000, 'the shared buffer is not moved to the thread');
    assert.equal(view.toString('latin1', 0, 10), '0123456789');
    const opened = await pool.open(key, sealed.bytes, 'x');
    assert.deepEqual(Buffer.from(opened.plaintext), view);
    assert.equal(sealed.bytes.length > 0, true, 'the ciphertext handed to the thread stays readable');
  });

  it('refuses as inline does: a wrong key, a flipped byte, a plaintext that is not the one expected', async () => {
    const key = await parseKey(await generateX25519Identity());
    const other = await parseKey(await generateX25519Identity());
    const plain = new TextEncoder().encode('hello');
    const sealed = await pool.seal(key, plain);
    await assert.rejects(pool.open(other, sealed.bytes, 'blob X'), (err: unknown) => {
      assert.ok(err instanceof EncryptionError);
      assert.equal(err.message, 'blob X is not encrypted to this key (wrong key file?)');
      return true;
    });
    const flipped = sealed.bytes.slice();
    flipped[flipped.length - 1]! ^= 1;
    await assert.rejects(
      pool.open(key, flipped, 'blob X'),
      (err: unknown) => err instanceof EncryptionError && /^blob X fails decryption \(tampered or corrupt\): /.test(err.message),
    );
    const wrong = await pool.open(key, sealed.bytes, 'blob X', { ref: blobRefOf('other'), size: 5 });
    assert.equal(wrong.matches, false);
  });

  it('runs many jobs at once, for several keys, each answered with its own result', async () => {
    const keys = await Promise.all([0, 1, 2].map(async () => parseKey(await generateX25519Identity())));
    const blobs = Array.from({ length: 60 }, (_, i) => ({ key: keys[i % 3]!, bytes: new TextEncoder().encode(`blob ${i} `.repeat(i * 50 + 1)) }));
    const sealed = await Promise.all(blobs.map((b) => pool.seal(b.key, b.bytes)));
    const opened = await Promise.all(
      sealed.map((s, i) => pool.open(blobs[i]!.key, s.bytes, `blob ${i}`, { ref: blobRefOf(blobs[i]!.bytes), size: blobs[i]!.bytes.length })),
    );
    for (const [i, o] of opened.entries()) assert.deepEqual(o, { plaintext: blobs[i]!.bytes, matches: true });
  });

  it('an idle pool does not keep the process alive', () => {
    const pool = fileURLToPath(new URL('../../client/encrypt/age-pool.ts', import.meta.url));
    const format = fileURLToPath(new URL('../../client/encrypt/format.ts', import.meta.url));
    const script = `const { AgePool } = await import(${JSON.stringify(pool)}); const { parseKey } = await import(${JSON.stringify(format)});
      const { generateX25519Identity } = await import('age-encryption');
      const p = new AgePool(2); const k = await parseKey(await generateX25519Identity());
      const s = await p.seal(k, new Uint8Array(10)); console.log(s.ref.slice(0, 7));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, `the process did not exit by itself: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'sha224-');
  });

  it('BLOBSERVER_AGE_WORKERS sets the threads (0: inline), else the cores Node may use', () => {
    assert.equal(ageWorkersWanted({ BLOBSERVER_AGE_WORKERS: '0' }), 0);
    assert.equal(ageWorkersWanted({ BLOBSERVER_AGE_WORKERS: '3' }), 3);
    assert.ok(ageWorkersWanted({}) >= 1);
    assert.throws(() => ageWorkersWanted({ BLOBSERVER_AGE_WORKERS: 'many' }), /BLOBSERVER_AGE_WORKERS=many: a whole number from 0 to 256/);
  });
});
