import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { FUNCTION_TIMEOUT_SECONDS } from '../lambda/core/limits.js';
import { BLOB_PREFIX, PACK_PREFIX, STAGING_PREFIX, GENERATION_KEY, NAMESPACES_PREFIX, inEveryNamespace } from '../lambda/core/storage/object-keys.js';
import { buildUiPageSync } from '../ui/build.js';
import { BlobserverFunction } from './blobserver-function.js';
import { grantKeyUse } from './encryption.js';
import { grantReadSide, grantWriteSide } from './grants.js';
import type { Secrets } from './secrets.js';
import type { BlobServerSettings } from './settings.js';
import type { Storage } from './storage.js';

export const FUNCTION_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT_SECONDS);

/**
 * Memory is also CPU on Lambda. The write side base64-decodes, parses and hashes a body of
 * up to maxUploadSize (in a 6 MB event) and keeps it in memory: 1769 MB is one full vCPU.
 */
export const MEMORY_MB = { read: 1024, write: 1769 } as const;

export interface FunctionsProps {
  storage: Storage;
  secrets: Secrets;
  settings: BlobServerSettings;
  encryptionKey?: IKey | undefined;
}

/** The read side and the write side (DESIGN §1), each with only the permissions it uses. */
export class Functions extends Construct {
  readonly read: BlobserverFunction;
  readonly write: BlobserverFunction;

  constructor(scope: Construct, id: string, { storage, secrets, settings, encryptionKey }: FunctionsProps) {
    super(scope, id);
    // Every variable lambda/core/config.ts reads in the cloud.
    const environment = {
      BLOBSERVER_TABLE: storage.table.tableName,
      BLOBSERVER_BUCKET: storage.bucket.bucketName,
      BLOBSERVER_AUTH_SECRET_ID: secrets.credentials.secretArn,
      BLOBSERVER_SIGNING_KEY_SECRET_ID: secrets.signingKey.secretArn,
      BLOBSERVER_UPLOAD_URL_TTL_SECONDS: String(settings.uploadUrlTtlSeconds),
      BLOBSERVER_MAX_UPLOAD_SIZE: String(settings.maxUploadSize),
      BLOBSERVER_MAX_BLOB_SIZE: String(settings.maxBlobSize),
      BLOBSERVER_ALLOW_REMOVE: String(settings.allowRemove),
    };
    const common = { timeout: FUNCTION_TIMEOUT, environment, logRetention: settings.logRetention, ephemeral: settings.ephemeral, logKey: encryptionKey };
    const reserve = (n: number) => (settings.reservedConcurrency ? n : undefined);

    this.read = new BlobserverFunction(this, 'Read', {
      ...common,
      entry: 'read',
      description: 'Blob server read side: discovery, preupload, stat, get, enumerate',
      memorySize: MEMORY_MB.read,
      reservedConcurrency: reserve(settings.readConcurrency),
      // The page at /ui, built from ui/ into the bundle (lambda/core/http/ui-page.ts).
      define: { BLOBSERVER_UI_PAGE: JSON.stringify(buildUiPageSync()) },
    });
    this.write = new BlobserverFunction(this, 'Write', {
      ...common,
      entry: 'write',
      description: 'Blob server write side: uploads (and remove when enabled)',
      memorySize: MEMORY_MB.write,
      reservedConcurrency: reserve(settings.writeConcurrency),
    });
    grantReadSide(this.read.role, storage, secrets);
    grantWriteSide(this.write.role, storage, secrets, { allowRemove: settings.allowRemove });
    // Both read and write objects (the read side creates the storage generation, and both sign
    // upload forms, which S3 authorises as the signer), rows and secrets.
    for (const side of [this.read, this.write]) {
      grantKeyUse(side.role, encryptionKey, ['kms:Decrypt', 'kms:GenerateDataKey'], ['s3', 'dynamodb', 'secretsmanager']);
    }

    // cdk-nag names the finding after the bucket's logical id: <Id.Arn>/blobs/*.
    const stack = Stack.of(this);
    const bucketId = stack.resolve(stack.getLogicalId(storage.bucket.node.defaultChild as CfnBucket)) as string;
    for (const side of [this.read, this.write]) {
      Validations.of(side.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${BLOB_PREFIX}*]`,
        reason: `Objects of large blobs under ${BLOB_PREFIX}<ref>/<id>, keys known only at request time: object actions are scoped to that prefix, never the whole bucket, never wildcard actions.`,
      });
      Validations.of(side.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${PACK_PREFIX}*]`,
        reason: `Packs of small blobs under ${PACK_PREFIX}<day>/<id>, keys made at request time: object actions are scoped to that prefix, never the whole bucket, never wildcard actions.`,
      });
      for (const pattern of [`${BLOB_PREFIX}*`, `${PACK_PREFIX}*`, GENERATION_KEY].map(inEveryNamespace)) {
        Validations.of(side.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${pattern}]`,
          reason: `The same keys in every namespace (DESIGN §12), under ${NAMESPACES_PREFIX}<name>/: namespaces are made by use, so their names are known only at request time; never the whole bucket, never wildcard actions.`,
        });
      }
      Validations.of(side.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${STAGING_PREFIX}*]`,
        reason: `Upload forms write one object per form under a random ${STAGING_PREFIX}<id>/ prefix chosen at request time: object actions are scoped to ${STAGING_PREFIX}, never the whole bucket.`,
      });
    }
  }
}
