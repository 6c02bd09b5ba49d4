import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/**
 * The optional customer-managed key (settings.kmsKey): 'none' leaves SSE-S3, DynamoDB's and Secrets
 * Manager's AWS keys and CloudWatch Logs' own encryption; 'create' makes one key for the bucket,
 * table, secrets and log groups ($1 a month plus requests, docs/deploy.md); an ARN uses that key,
 * whose key policy the owner must extend for CloudWatch Logs (docs/hardening.md).
 */
export function encryptionKeyFor(scope: Construct, setting: string): IKey | undefined {
  if (setting === 'none') return undefined;
  if (setting !== 'create') return Key.fromKeyArn(scope, 'EncryptionKey', setting);
  const stack = Stack.of(scope);
  const key = new Key(scope, 'EncryptionKey', {
    description: 'Blob server: bucket, index table, secrets and log groups',
    enableKeyRotation: true,
    // A key is never destroyed with the stack: data encrypted under it would be lost with it.
  });
  // CloudWatch Logs encrypts with the key itself, on behalf of log groups of this account only.
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchLogsOfThisAccount',
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` } },
    }),
  );
  return key;
}

/** The services through which a function uses the key: only via them, never directly. */
export type KeyUse = 's3' | 'dynamodb' | 'secretsmanager';

/**
 * What a function needs of the key for its S3, DynamoDB and Secrets Manager calls: kms:Decrypt to
 * read (objects, rows, secrets), kms:GenerateDataKey to write (objects, and the forms it signs, which
 * S3 authorises with the signer's rights; rows; a new secret version). Only through those services.
 */
export function grantKeyUse(role: IRole, key: IKey | undefined, actions: ('kms:Decrypt' | 'kms:GenerateDataKey')[], via: KeyUse[]): void {
  if (!key) return;
  const stack = Stack.of(role);
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'UseEncryptionKey',
      actions,
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': via.map((s) => `${s}.${stack.region}.amazonaws.com`) } },
    }),
  );
}
