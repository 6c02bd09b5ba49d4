import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { keyringLoader } from '../../lambda/core/auth/keyring-source.js';
import type { SecretReader } from '../../lambda/core/auth/secrets.js';
import { mintUploadToken, verifyUploadToken } from '../../lambda/core/auth/tokens.js';
import { SIGNING_KEY_MIN_LENGTH } from '../../lambda/core/limits.js';
import { rotate, type RotationEvent, type RotationStep } from '../../lambda/rotate-signing-key.js';

/**
 * A Secrets Manager stand-in for one secret: versions with staging labels, and the one
 * side effect the rotation protocol relies on (moving AWSCURRENT labels the old version
 * AWSPREVIOUS).
 */
class FakeSecret {
  versions = new Map<string, { value: string; stages: Set<string> }>();
  calls: string[] = [];
  constructor(initial: string) {
    this.versions.set('v0', { value: initial, stages: new Set(['AWSCURRENT']) });
  }

  /** What Secrets Manager does when rotation starts: a new version id labelled AWSPENDING. */
  startRotation(token: string): void {
    this.versions.set(token, { value: '', stages: new Set(['AWSPENDING']) });
  }

  stage(label: string): string | undefined {
    return [...this.versions.values()].find((v) => v.stages.has(label))?.value;
  }

  readonly client = {
    send: async (command: unknown): Promise<unknown> => {
      this.calls.push((command as object).constructor.name);
      if (command instanceof DescribeSecretCommand) {
        const map: Record<string, string[]> = {};
        for (const [id, v] of this.versions) if (v.stages.size) map[id] = [...v.stages];
        return { RotationEnabled: true, VersionIdsToStages: map };
      }
      if (command instanceof GetSecretValueCommand) {
        const { VersionId, VersionStage } = command.input;
        const v = VersionId ? this.versions.get(VersionId) : [...this.versions.values()].find((x) => x.stages.has(VersionStage ?? 'AWSCURRENT'));
        if (!v?.value || (VersionStage && !v.stages.has(VersionStage))) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
        return { SecretString: v.value };
      }
      if (command instanceof PutSecretValueCommand) {
        const v = this.versions.get(command.input.ClientRequestToken!)!;
        v.value = command.input.SecretString!;
        return {};
      }
      if (command instanceof UpdateSecretVersionStageCommand) {
        const { MoveToVersionId, RemoveFromVersionId, VersionStage } = command.input;
        assert.equal(VersionStage, 'AWSCURRENT');
        for (const v of this.versions.values()) v.stages.delete('AWSPREVIOUS');
        const old = this.versions.get(RemoveFromVersionId!)!;
        assert.ok(old.stages.has('AWSCURRENT'), 'RemoveFromVersionId must be the current version');
        old.stages.delete('AWSCURRENT');
        old.stages.add('AWSPREVIOUS');
        const next = this.versions.get(MoveToVersionId!)!;
        next.stages.delete('AWSPENDING');
        next.stages.add('AWSCURRENT');
        return {};
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  } as unknown as SecretsManagerClient;

  /** The reader the handlers use, over this fake. */
  readonly reader = { read: async (_id: string, stage: string) => this.stage(stage) } as unknown as SecretReader;
}

const STEPS: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const event = (token: string, Step: RotationStep): RotationEvent => ({ SecretId: 'signing-key', ClientRequestToken: token, Step });

async function fullRotation(secret: FakeSecret, token: string): Promise<void> {
  secret.startRotation(token);
  for (const step of STEPS) await rotate(secret.client, event(token, step));
}

describe('signing key rotation function', () => {
  it('makes a new 64+ character key current and keeps the old one as AWSPREVIOUS', async () => {
    const secret = new FakeSecret('k'.repeat(64));
    await fullRotation(secret, 't1');
    const current = secret.stage('AWSCURRENT')!;
    assert.ok(current.length >= SIGNING_KEY_MIN_LENGTH);
    assert.match(current, /^[A-Za-z0-9_-]+$/);
    assert.notEqual(current, 'k'.repeat(64));
    assert.equal(secret.stage('AWSPREVIOUS'), 'k'.repeat(64));
  });

  it('upload URLs signed before a rotation keep verifying after it, until the next one', async () => {
    const secret = new FakeSecret('a'.repeat(64));
    const keyring = keyringLoader({ kind: 'secret', secretId: 'signing-key' }, secret.reader);
    const now = 1_800_000_000;
    const before = await keyring();
    const { token } = mintUploadToken(before, 'alice', now, 7200, 'open');

    await fullRotation(secret, 't1');
    const afterOne = await keyring({ refresh: true });
    assert.notEqual(afterOne.current.id, before.current.id, 'new URLs are signed with the new key');
    assert.deepEqual(verifyUploadToken(afterOne, token, now + 60, 'open'), { ok: true, principal: 'alice', expiresAt: now + 7200, keyId: before.current.id });

    // A second rotation retires the first key: hence rotations must be further apart than the TTL.
    await fullRotation(secret, 't2');
    assert.deepEqual(verifyUploadToken(await keyring({ refresh: true }), token, now + 60, 'open'), { ok: false, reason: 'unknown-key' });
  });

  it('a retried createSecret does not replace the pending key', async () => {
    const secret = new FakeSecret('b'.repeat(64));
    secret.startRotation('t1');
    let n = 0;
    const gen = () => `${++n}`.repeat(64);
    await rotate(secret.client, event('t1', 'createSecret'), gen);
    await rotate(secret.client, event('t1', 'createSecret'), gen);
    assert.equal(n, 1);
    assert.equal(secret.versions.get('t1')!.value, '1'.repeat(64));
  });

  it('a retried step after finishSecret is a no-op', async () => {
    const secret = new FakeSecret('c'.repeat(64));
    await fullRotation(secret, 't1');
    const current = secret.stage('AWSCURRENT');
    secret.calls = [];
    await rotate(secret.client, event('t1', 'finishSecret'));
    assert.deepEqual(secret.calls, ['DescribeSecretCommand']);
    assert.equal(secret.stage('AWSCURRENT'), current);
  });

  it('refuses a version that is not pending, and a pending key that is too short', async () => {
    const secret = new FakeSecret('d'.repeat(64));
    await assert.rejects(rotate(secret.client, event('nope', 'createSecret')), /no stage/);
    secret.startRotation('t1');
    await rotate(secret.client, event('t1', 'createSecret'), () => 'short');
    await assert.rejects(rotate(secret.client, event('t1', 'testSecret')), /too short/);
  });
});
