import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  waitUntilTableExists,
  waitUntilTableNotExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, PutBucketLifecycleConfigurationCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_RECOVERY_WINDOW_DAYS } from '../limits.js';
import { httpStatusOf, isBucketAlreadyExists, isResourceInUse, isResourceNotFound } from '../aws/aws-errors.js';
import { DynamoBlobIndex } from './dynamodb-index.js';
import type { Config } from '../config.js';
import { dynamoClientFor } from '../aws/aws-clients.js';
import { INDEX_SCHEMA } from './index-schema.js';
import { migrateLegacyIndex } from './migrate.js';

/** Whether the table exists. */
export async function tableExists(ddb: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (err) {
    if (isResourceNotFound(err)) return false;
    throw err;
  }
}

/** Creates the index table (and, below, the blob bucket) when missing; the cloud gets them from CDK. */
export async function ensureTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  if (await tableExists(ddb, tableName)) return;
  // A loaded emulator may take longer than one attempt's timeout to create it: the SDK's retry
  // then finds the table its first attempt made (ResourceInUseException), which is success.
  await ddb
    .send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: INDEX_SCHEMA.partitionKey, AttributeType: 'S' },
          { AttributeName: INDEX_SCHEMA.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: INDEX_SCHEMA.partitionKey, KeyType: 'HASH' },
          { AttributeName: INDEX_SCHEMA.sortKey, KeyType: 'RANGE' },
        ],
      }),
    )
    .catch((err: unknown) => {
      if (!isResourceInUse(err)) throw err;
    });
  await waitUntilTableExists({ client: ddb, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
}

/**
 * Only a 404 means the bucket is missing. Anything else (s3rver answers HeadBucket with 500
 * when a crash left an empty metadata file among the objects it lists) is settled by
 * CreateBucket: "already exists" means it is there; any other failure is reported as is.
 */
export async function ensureBucket(s3: S3Client, bucketName: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucketName }));
    return;
  } catch (err) {
    const status = httpStatusOf(err);
    if (status !== undefined && status !== 404 && status < 500) throw err;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  } catch (err) {
    if (!isBucketAlreadyExists(err)) throw err;
    return;
  }
  await enableRecoveryWindow(s3, bucketName);
}

/**
 * The stack's recovery window on a bucket the local server creates: versioning, and noncurrent
 * versions expiring after DEFAULT_RECOVERY_WINDOW_DAYS (as infra/storage.ts). LocalStack keeps
 * versions; s3rver has no versioning (it takes PUT ?versioning for a CreateBucket and answers
 * BucketAlreadyExists; other servers may answer NotImplemented), so there a deleted object is
 * gone at once and fsck --repair has nothing to restore from (docs/storage-model.md). Answers
 * whether the bucket is versioned.
 */
export async function enableRecoveryWindow(s3: S3Client, bucketName: string): Promise<boolean> {
  try {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucketName, VersioningConfiguration: { Status: 'Enabled' } }));
  } catch (err) {
    if (httpStatusOf(err) === 501 || (err as { name?: string }).name === 'NotImplemented' || isBucketAlreadyExists(err)) return false;
    throw err;
  }
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucketName,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: 'expire-noncurrent-versions',
            Status: 'Enabled',
            Filter: { Prefix: '' },
            NoncurrentVersionExpiration: { NoncurrentDays: DEFAULT_RECOVERY_WINDOW_DAYS },
          },
        ],
      },
    }),
  );
  return true;
}

/**
 * When the first storage model's table is there, copies its rows into today's table (objects
 * stay where they are) and then deletes it, so the copy happens once; an interrupted copy is
 * redone on the next start (the legacy table is deleted only after a complete copy). Answers
 * how many rows were copied, or undefined when there was nothing to migrate.
 */
export async function migrateLegacyTable(config: Config): Promise<number | undefined> {
  if (config.legacyTableName === config.tableName) return undefined;
  const ddb = dynamoClientFor(config);
  try {
    if (!(await tableExists(ddb, config.legacyTableName))) return undefined;
    const copied = await migrateLegacyIndex(ddb, config.legacyTableName, new DynamoBlobIndex(ddb, config.tableName));
    await ddb.send(new DeleteTableCommand({ TableName: config.legacyTableName }));
    await waitUntilTableNotExists({ client: ddb, maxWaitTime: 60, minDelay: 1 }, { TableName: config.legacyTableName });
    return copied;
  } finally {
    ddb.destroy();
  }
}
