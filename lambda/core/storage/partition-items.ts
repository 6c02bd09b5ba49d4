import { QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { INDEX_SCHEMA } from './index-schema.js';

/**
 * Every item under one partition key value of the index table, in sort key order, strongly
 * consistent, page after page: how the side partitions that are no shard (`#usage`,
 * `#credentials`, `#creating`) are listed.
 */
export async function* partitionItems(ddb: DynamoDBClient, tableName: string, partition: string): AsyncGenerator<Record<string, AttributeValue>> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page: QueryCommandOutput = await ddb.send(
      new QueryCommand({
        TableName: tableName,
        ConsistentRead: true,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': INDEX_SCHEMA.partitionKey },
        ExpressionAttributeValues: { ':p': { S: partition } },
        ExclusiveStartKey: startKey,
      }),
    );
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
