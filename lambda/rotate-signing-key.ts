import { randomBytes } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { callBounds } from './core/aws/aws-clients.js';
import { isResourceNotFound } from './core/aws/aws-errors.js';
import { readTelemetryConfig } from './core/config.js';
import { SECRETS_MANAGER_CALL_BOUNDS, SIGNING_KEY_MIN_LENGTH } from './core/limits.js';
import { createLogger } from './core/telemetry.js';

/**
 * Secrets Manager rotation function for the upload-URL signing key (the four-step protocol:
 * createSecret, setSecret, testSecret, finishSecret).
 *
 * The new key becomes AWSCURRENT and Secrets Manager moves the old one to AWSPREVIOUS, where
 * the handlers keep accepting it (lambda/core/auth/keyring-source.ts). So URLs signed before a
 * rotation stay valid as long as rotations are further apart than the URL lifetime; the
 * stack enforces that for the schedule, and docs/deploy.md says so for manual rotations.
 */

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export interface RotationEvent {
  SecretId: string;
  ClientRequestToken: string;
  Step: RotationStep;
}

export function newSigningKey(): string {
  return randomBytes(48).toString('base64url');
}

type Sender = Pick<SecretsManagerClient, 'send'>;

export async function rotate(sm: Sender, event: RotationEvent, generate: () => string = newSigningKey): Promise<void> {
  const { SecretId, ClientRequestToken: token, Step } = event;
  const meta = await sm.send(new DescribeSecretCommand({ SecretId }));
  if (meta.RotationEnabled === false) throw new Error(`secret ${SecretId} does not have rotation enabled`);
  const versions = meta.VersionIdsToStages ?? {};
  const stages = versions[token];
  if (!stages) throw new Error(`version ${token} has no stage for rotation of ${SecretId}`);
  // A retried step after finishSecret already succeeded: nothing left to do.
  if (stages.includes('AWSCURRENT')) return;
  if (!stages.includes('AWSPENDING')) throw new Error(`version ${token} is not AWSPENDING for ${SecretId}`);

  switch (Step) {
    case 'createSecret':
      try {
        // Idempotent: a retried createSecret must not replace a pending key already made.
        await sm.send(new GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: 'AWSPENDING' }));
      } catch (err) {
        if (!isResourceNotFound(err)) throw err;
        await sm.send(new PutSecretValueCommand({ SecretId, ClientRequestToken: token, SecretString: generate(), VersionStages: ['AWSPENDING'] }));
      }
      return;
    case 'setSecret':
      // The key exists only in this secret; there is no other system to update.
      return;
    case 'testSecret': {
      const pending = await sm.send(new GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: 'AWSPENDING' }));
      if ((pending.SecretString ?? '').length < SIGNING_KEY_MIN_LENGTH) throw new Error('pending signing key is too short');
      return;
    }
    case 'finishSecret': {
      const current = Object.entries(versions).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
      // Moving AWSCURRENT makes Secrets Manager label the old version AWSPREVIOUS.
      await sm.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
      return;
    }
    default:
      throw new Error(`unknown rotation step ${String(Step)}`);
  }
}

let client: SecretsManagerClient | undefined;
const log = createLogger(readTelemetryConfig());

/** Lambda entry point; the SDK picks up AWS_ENDPOINT_URL itself under LocalStack. */
export async function handler(event: RotationEvent): Promise<void> {
  client ??= new SecretsManagerClient(callBounds(SECRETS_MANAGER_CALL_BOUNDS));
  log.info('rotation step', { step: event.Step, secretId: event.SecretId, version: event.ClientRequestToken });
  await rotate(client, event);
}
