import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { INDEX_SCHEMA } from '../lambda/core/blob-index.js';

/** Creates the index table and blob bucket when missing (the cloud gets them from CDK). */
export async function ensureTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException) && (err as Error).name !== 'ResourceNotFoundException') throw err;
  }
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: INDEX_SCHEMA.partitionKey, AttributeType: 'S' },
        { AttributeName: INDEX_SCHEMA.listingKey, AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: INDEX_SCHEMA.partitionKey, KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: INDEX_SCHEMA.listingIndex,
          KeySchema: [
            { AttributeName: INDEX_SCHEMA.listingKey, KeyType: 'HASH' },
            { AttributeName: INDEX_SCHEMA.partitionKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['size'] },
        },
      ],
    }),
  );
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
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined && status !== 404 && status < 500) throw err;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}
