import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { afterEach, describe, it, mock } from 'node:test';
import fc from 'fast-check';
import { credentialsBinding } from '../../lambda/core/auth/auth.js';
import { keyIdFor, keyringOf, mintUploadToken, verifyUploadToken, type Keyring } from '../../lambda/core/auth/tokens.js';

const OLD = Buffer.from('old signing key, 32 bytes long!!');
const NEW = Buffer.from('new signing key, 32 bytes long!!');
const NEWER = Buffer.from('newer signing key, 32 bytes long');
const NOW = 1_700_000_000;
const TTL = 7200;

const ring = keyringOf([NEW]);
const BINDING = credentialsBinding({ username: 'alice', password: 'secret' });

function fields(token: string) {
  const [keyId, exp, principal, sig, ...rest] = token.split('.');
  assert.ok(keyId !== undefined && exp !== undefined && principal !== undefined && sig !== undefined && rest.length === 0, `four fields: ${token}`);
  return { keyId, exp, principal, sig };
}

function join(f: ReturnType<typeof fields>): string {
  return [f.keyId, f.exp, f.principal, f.sig].join('.');
}

describe('upload tokens: round trip and expiry', () => {
  it('a minted token verifies with its principal, expiry and key id', () => {
    const { token, expiresAt } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);
    assert.equal(expiresAt, NOW + TTL);
    assert.deepEqual(verifyUploadToken(ring, token, NOW, BINDING), { ok: true, principal: 'alice', expiresAt, keyId: keyIdFor(NEW) });
  });

  it('round-trips any principal (unicode, dots, empty)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 10 ** 6 }), (principal, ttl) => {
        const { token } = mintUploadToken(ring, principal, NOW, ttl, BINDING);
        const check = verifyUploadToken(ring, token, NOW, BINDING);
        assert.ok(check.ok);
        assert.equal(check.principal, principal);
      }),
    );
  });

  it('is valid until the last second before expiry and expired from the expiry second on', () => {
    const { token, expiresAt } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);
    assert.equal(verifyUploadToken(ring, token, expiresAt - 1, BINDING).ok, true);
    assert.equal(verifyUploadToken(ring, token, expiresAt - 0.001, BINDING).ok, true);
    assert.deepEqual(verifyUploadToken(ring, token, expiresAt, BINDING), { ok: false, reason: 'expired' });
    assert.deepEqual(verifyUploadToken(ring, token, expiresAt + 3600, BINDING), { ok: false, reason: 'expired' });
  });

  it('counts the TTL from whole seconds (a fractional clock does not stretch it)', () => {
    const { expiresAt } = mintUploadToken(ring, 'alice', NOW + 0.999, TTL, BINDING);
    assert.equal(expiresAt, NOW + TTL);
  });
});

describe('upload tokens: tampering', () => {
  const { token } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);
  const f = fields(token);

  it('a changed expiry fails the signature (later or earlier)', () => {
    for (const exp of [String(NOW + TTL + 1), String(NOW + TTL - 1), String(NOW + 10 * TTL)]) {
      assert.deepEqual(verifyUploadToken(ring, join({ ...f, exp }), NOW, BINDING), { ok: false, reason: 'bad-signature' }, exp);
    }
  });

  it('a changed principal fails the signature', () => {
    for (const who of ['mallory', 'alicf', 'alice ', '']) {
      const principal = Buffer.from(who).toString('base64url');
      assert.deepEqual(verifyUploadToken(ring, join({ ...f, principal }), NOW, BINDING), { ok: false, reason: 'bad-signature' }, who);
    }
  });

  it('a key id naming another accepted key fails the signature', () => {
    const both = keyringOf([NEW, OLD]);
    const check = verifyUploadToken(both, join({ ...f, keyId: keyIdFor(OLD) }), NOW, BINDING);
    assert.deepEqual(check, { ok: false, reason: 'bad-signature' });
  });

  it('flipping any bit of any MAC byte fails', () => {
    const mac = Buffer.from(f.sig, 'base64url');
    assert.equal(mac.length, 32);
    for (let i = 0; i < mac.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const forged = Buffer.from(mac);
        forged[i]! ^= bit;
        const check = verifyUploadToken(ring, join({ ...f, sig: forged.toString('base64url') }), NOW, BINDING);
        assert.deepEqual(check, { ok: false, reason: 'bad-signature' }, `byte ${i} bit ${bit}`);
      }
    }
  });

  it('a token signed with a key that is not in the keyring under a known id fails', () => {
    const rogue = mintUploadToken(keyringOf([Buffer.from('attacker key')]), 'alice', NOW, TTL, BINDING).token;
    const check = verifyUploadToken(ring, join({ ...fields(rogue), keyId: f.keyId }), NOW, BINDING);
    assert.deepEqual(check, { ok: false, reason: 'bad-signature' });
  });

  it('a forged token is refused as forged even when its expiry has passed (expiry is not an oracle)', () => {
    const forged = join({ ...f, exp: String(NOW - 10) });
    assert.deepEqual(verifyUploadToken(ring, forged, NOW, BINDING), { ok: false, reason: 'bad-signature' });
  });
});

describe('upload tokens: bound to the credentials in force', () => {
  const { token } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);

  it('a token minted under some credentials fails once the password, the user or the openness changes', () => {
    const changes = {
      'new password': credentialsBinding({ username: 'alice', password: 'secret2' }),
      'another user': credentialsBinding({ username: 'bob', password: 'secret' }),
      'credentials removed (open server)': credentialsBinding(undefined),
    };
    for (const [why, binding] of Object.entries(changes)) {
      assert.deepEqual(verifyUploadToken(ring, token, NOW, binding), { ok: false, reason: 'bad-signature' }, why);
    }
    assert.equal(verifyUploadToken(ring, token, NOW, credentialsBinding({ username: 'alice', password: 'secret' })).ok, true);
  });

  it("an open server's token fails once credentials are set", () => {
    const open = mintUploadToken(ring, 'anonymous', NOW, TTL, credentialsBinding(undefined)).token;
    assert.equal(verifyUploadToken(ring, open, NOW, credentialsBinding(undefined)).ok, true);
    assert.deepEqual(verifyUploadToken(ring, open, NOW, BINDING), { ok: false, reason: 'bad-signature' });
  });

  it('the binding does not shift between user and password (a:bc vs ab:c)', () => {
    assert.notEqual(credentialsBinding({ username: 'a', password: 'bc' }), credentialsBinding({ username: 'ab', password: 'c' }));
  });
});

describe('upload tokens: keys and rotation', () => {
  it('an unknown key id fails', () => {
    const { token } = mintUploadToken(keyringOf([OLD]), 'alice', NOW, TTL, BINDING);
    assert.deepEqual(verifyUploadToken(ring, token, NOW, BINDING), { ok: false, reason: 'unknown-key' });
  });

  it('after a rotation new tokens use the new key and tokens of the previous key still verify', () => {
    const before: Keyring = keyringOf([OLD]);
    const after: Keyring = keyringOf([NEW, OLD]);
    const old = mintUploadToken(before, 'alice', NOW, TTL, BINDING).token;
    const fresh = mintUploadToken(after, 'bob', NOW, TTL, BINDING).token;
    assert.equal(fields(fresh).keyId, keyIdFor(NEW));
    assert.equal(fields(old).keyId, keyIdFor(OLD));
    assert.deepEqual(verifyUploadToken(after, old, NOW, BINDING), { ok: true, principal: 'alice', expiresAt: NOW + TTL, keyId: keyIdFor(OLD) });
    assert.equal(verifyUploadToken(after, fresh, NOW, BINDING).ok, true);
    // The previous key's tokens still expire on time.
    assert.deepEqual(verifyUploadToken(after, old, NOW + TTL, BINDING), { ok: false, reason: 'expired' });
  });

  it('a token of a key dropped by a second rotation no longer verifies', () => {
    const old = mintUploadToken(keyringOf([OLD]), 'alice', NOW, TTL, BINDING).token;
    const twiceRotated = keyringOf([NEWER, NEW]);
    assert.deepEqual(verifyUploadToken(twiceRotated, old, NOW, BINDING), { ok: false, reason: 'unknown-key' });
  });

  it('key ids are derived from the key, stable and distinct', () => {
    assert.equal(keyIdFor(Buffer.from(OLD)), keyIdFor(OLD));
    assert.notEqual(keyIdFor(OLD), keyIdFor(NEW));
    assert.throws(() => keyringOf([]));
  });
});

describe('upload tokens: malformed input', () => {
  it('refuses a non-canonical spelling of a valid MAC (spare bits of the last base64url character)', () => {
    const { token } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);
    const f = fields(token);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(f.sig.at(-1)!);
    // 32 bytes use 2 of the last character's 6 bits; flipping a spare bit decodes to the same MAC.
    const sibling = alphabet[last ^ 1];
    assert.deepEqual(Buffer.from(f.sig.slice(0, -1) + sibling, 'base64url'), Buffer.from(f.sig, 'base64url'));
    assert.deepEqual(verifyUploadToken(ring, join({ ...f, sig: f.sig.slice(0, -1) + sibling }), NOW, BINDING), { ok: false, reason: 'malformed' });
  });

  const { token } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);
  const f = fields(token);
  const malformed: Record<string, string> = {
    empty: '',
    'one field': 'abc',
    'three fields': [f.keyId, f.exp, f.sig].join('.'),
    'five fields': token + '.x',
    'empty key id': join({ ...f, keyId: '' }),
    'key id with a slash': join({ ...f, keyId: 'k/1' }),
    'non-numeric expiry': join({ ...f, exp: '17e8' }),
    'negative expiry': join({ ...f, exp: '-1' }),
    'expiry of 13 digits': join({ ...f, exp: '1'.repeat(13) }),
    'empty MAC': join({ ...f, sig: '' }),
    'MAC one byte short': join({ ...f, sig: Buffer.from(f.sig, 'base64url').subarray(1).toString('base64url') }),
    'MAC one byte long': join({ ...f, sig: Buffer.concat([Buffer.from(f.sig, 'base64url'), Buffer.from([0])]).toString('base64url') }),
    'MAC in standard base64 with padding': join({ ...f, sig: Buffer.from(f.sig, 'base64url').toString('base64') }),
    'principal with base64 padding': join({ ...f, principal: f.principal + '=' }),
    // 0123 is the same number as 123, so it would verify under the same MAC.
    'expiry with a leading zero': join({ ...f, exp: '0' + f.exp }),
    'expiry with two leading zeros': join({ ...f, exp: '00' + f.exp }),
    // "alice" is YWxpY2U; the last character's spare bits can change without changing the bytes.
    'principal with a spare bit set': join({ ...f, principal: f.principal.slice(0, -1) + 'V' }),
    'token with a trailing newline': token + '\n',
  };
  for (const [why, input] of Object.entries(malformed)) {
    it(`refuses ${why}`, () => {
      const check = verifyUploadToken(ring, input, NOW, BINDING);
      assert.equal(check.ok, false);
      assert.equal(!check.ok && check.reason, 'malformed');
    });
  }

  it('never accepts or throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        assert.equal(verifyUploadToken(ring, s, NOW, BINDING).ok, false);
      }),
    );
  });
});

describe('upload tokens: constant-time MAC comparison', () => {
  afterEach(() => {
    mock.restoreAll();
    syncBuiltinESMExports();
  });

  /** Replaces crypto.timingSafeEqual, for the ESM named import too, with a spy. */
  function spyOnTimingSafeEqual(impl?: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => boolean) {
    const spy = impl ? mock.method(crypto, 'timingSafeEqual', impl) : mock.method(crypto, 'timingSafeEqual');
    syncBuiltinESMExports();
    return spy;
  }

  it('compares the given MAC with the expected one through crypto.timingSafeEqual', () => {
    const { token } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);
    const spy = spyOnTimingSafeEqual();
    assert.equal(verifyUploadToken(ring, token, NOW, BINDING).ok, true);
    assert.equal(spy.mock.callCount(), 1);
    const [given, expected] = spy.mock.calls[0]!.arguments as [Buffer, Buffer];
    assert.deepEqual(Buffer.from(given), Buffer.from(fields(token).sig, 'base64url'));
    assert.equal(Buffer.from(expected).length, 32);
  });

  it('lets timingSafeEqual alone decide: a forged MAC it (falsely) calls equal is accepted', () => {
    // Proves the verdict comes from the constant-time comparison, not from `===` or Buffer.equals.
    const { token } = mintUploadToken(ring, 'alice', NOW, TTL, BINDING);
    const forged = join({ ...fields(token), sig: Buffer.alloc(32, 7).toString('base64url') });
    spyOnTimingSafeEqual(() => true);
    assert.equal(verifyUploadToken(ring, forged, NOW, BINDING).ok, true);
    mock.restoreAll();
    syncBuiltinESMExports();
    assert.deepEqual(verifyUploadToken(ring, forged, NOW, BINDING), { ok: false, reason: 'bad-signature' });
  });
});
