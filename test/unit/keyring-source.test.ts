import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fsp, { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, mock } from 'node:test';
import { readConfig } from '../../lambda/core/config.js';
import { createDeps } from '../../lambda/core/deps.js';
import { HttpError } from '../../lambda/core/http/errors.js';
import { MIN_FORCED_RELOAD_SECONDS, keyringLoader, type KeyringLoader } from '../../lambda/core/auth/keyring-source.js';
import { keyringOf, mintUploadToken } from '../../lambda/core/auth/tokens.js';
import { verifyUploadGrant } from '../../lambda/core/upload/upload-url.js';

/**
 * Issue 8 item 1: an upload URL naming a key id we do not know makes the server reload its
 * keys, and anyone can send one. However many arrive, the keys are reloaded at most once per
 * interval (in the cloud each reload is two Secrets Manager reads).
 */

/** A token under a key the server has never had: its key id is unknown. */
function unknownKeyToken(): string {
  return mintUploadToken(keyringOf([randomBytes(32)]), 'mallory', Date.now() / 1000, 3600, 'open').token;
}

async function refuse100(keyring: KeyringLoader): Promise<void> {
  const deps = createDeps(readConfig({ POWERTOOLS_METRICS_DISABLED: 'true' }), { keyring });
  for (let i = 0; i < 100; i++) {
    await assert.rejects(verifyUploadGrant(deps, unknownKeyToken()), (err) => err instanceof HttpError && err.status === 403);
  }
}

describe('signing keys: an unknown key id does not reload the keys per request', () => {
  afterEach(() => {
    mock.restoreAll();
    syncBuiltinESMExports();
  });

  it('Secrets Manager: 100 unknown-key URLs force one reload; the next one is allowed after the interval', async () => {
    const forced: string[] = [];
    const reader = {
      read: async (_id: string, stage: string, force = false) => {
        if (force) forced.push(stage);
        return stage === 'AWSCURRENT' ? 'k'.repeat(64) : undefined;
      },
    };
    let clock = 1_000_000;
    const keyring = keyringLoader({ kind: 'secret', secretId: 'signing-key' }, reader, { now: () => clock });
    await refuse100(keyring);
    assert.deepEqual(forced.sort(), ['AWSCURRENT', 'AWSPREVIOUS']);
    clock += (MIN_FORCED_RELOAD_SECONDS - 1) * 1000;
    await refuse100(keyring);
    assert.equal(forced.length, 2, 'no second forced reload within the interval');
    clock += 1000;
    await refuse100(keyring);
    assert.equal(forced.length, 4, 'a rotation is still picked up once the interval has passed');
  });

  it('key file: 100 unknown-key URLs read the file once; a rotated file is read again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyring-'));
    try {
      const path = join(dir, 'signing-keys.json');
      await writeFile(path, JSON.stringify({ keys: [randomBytes(32).toString('base64')] }));
      const reads = mock.method(fsp, 'readFile');
      syncBuiltinESMExports();
      const keyring = keyringLoader({ kind: 'file', path }, { read: async () => undefined });
      await refuse100(keyring);
      const ofKeys = () => reads.mock.calls.filter((c) => c.arguments[0] === path).length;
      assert.equal(ofKeys(), 1);
      const before = (await keyring()).current.id;
      await writeFile(path + '.new', JSON.stringify({ keys: [randomBytes(32).toString('base64')] }));
      await fsp.rename(path + '.new', path);
      assert.notEqual((await keyring()).current.id, before, 'a replaced key file is noticed');
      assert.equal(ofKeys(), 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
