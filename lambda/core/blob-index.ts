import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
  type AttributeValue,
  type DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';

/**
 * The blob index in DynamoDB: one row per fully stored blob, `blobRef -> size, storedAt`.
 * A row is written only after the blob's bytes are in S3, so a row means "we have it".
 */

/** Table schema, shared with the CDK stack and the local provisioner. */
export const INDEX_SCHEMA = {
  partitionKey: 'blobRef',
  /** A GSI over all rows sorted by blobref, for enumeration: every row carries LISTING_VALUE. */
  listingIndex: 'byBlobRef',
  listingKey: 'listing',
  listingValue: 'blobs',
} as const;

export interface SizedRef {
  blobRef: string;
  size: number;
}

const BATCH_GET_MAX = 100;
const MAX_UNPROCESSED_ROUNDS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class BlobIndex {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /**
   * Sizes of the given refs that are indexed, by strongly consistent BatchGetItem in chunks
   * of 100 issued concurrently; throttled (unprocessed) keys are retried with backoff.
   */
  async sizes(refs: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const chunks: string[][] = [];
    for (let i = 0; i < refs.length; i += BATCH_GET_MAX) chunks.push(refs.slice(i, i + BATCH_GET_MAX));
    await Promise.all(chunks.map((chunk) => this.batchGet(chunk, found)));
    return found;
  }

  private async batchGet(refs: string[], into: Map<string, number>): Promise<void> {
    let request: KeysAndAttributes | undefined = {
      Keys: refs.map((r) => ({ [INDEX_SCHEMA.partitionKey]: { S: r } })),
      ConsistentRead: true,
      ProjectionExpression: '#r, #s',
      ExpressionAttributeNames: { '#r': INDEX_SCHEMA.partitionKey, '#s': 'size' },
    };
    for (let round = 0; request?.Keys?.length; round++) {
      if (round > 0) {
        if (round > MAX_UNPROCESSED_ROUNDS) throw new Error(`BatchGetItem left ${request.Keys.length} keys unprocessed`);
        await sleep(Math.min(1000, 25 * 2 ** round) * (0.5 + Math.random() / 2));
      }
      const out: BatchGetItemCommandOutput = await this.ddb.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } }));
      for (const item of out.Responses?.[this.tableName] ?? []) {
        const row = fromItem(item);
        into.set(row.blobRef, row.size);
      }
      request = out.UnprocessedKeys?.[this.tableName];
    }
  }

  /** The size of one indexed blob, read strongly consistently, or undefined. */
  async size(ref: string): Promise<number | undefined> {
    const out = await this.ddb.send(
      new GetItemCommand({ TableName: this.tableName, Key: { [INDEX_SCHEMA.partitionKey]: { S: ref } }, ConsistentRead: true }),
    );
    return out.Item ? fromItem(out.Item).size : undefined;
  }

  /**
   * Records a stored blob. Idempotent: a row that already exists (a concurrent or earlier
   * upload of the same content) is left untouched and counts as success.
   */
  async put(ref: string, size: number, storedAt = new Date()): Promise<void> {
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [INDEX_SCHEMA.partitionKey]: { S: ref },
            size: { N: String(size) },
            storedAt: { S: storedAt.toISOString() },
            [INDEX_SCHEMA.listingKey]: { S: INDEX_SCHEMA.listingValue },
          },
          ConditionExpression: 'attribute_not_exists(#r)',
          ExpressionAttributeNames: { '#r': INDEX_SCHEMA.partitionKey },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return;
      throw err;
    }
  }

  /**
   * Up to `count` rows with blobref strictly greater than `after` (all rows when `after` is
   * empty), in blobref order, from the listing GSI. Costs about count/1000 Query requests
   * (1 MB pages), never a scan. GSI reads are eventually consistent: a row may have been
   * deleted since, so callers confirm with `sizes` before answering.
   */
  async listAfter(after: string, count: number): Promise<SizedRef[]> {
    const rows: SizedRef[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out: QueryCommandOutput = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX_SCHEMA.listingIndex,
          // The range condition does what ExclusiveStartKey would, for any `after`, stored or not.
          KeyConditionExpression: after ? '#l = :l AND #r > :after' : '#l = :l',
          ExpressionAttributeNames: { '#l': INDEX_SCHEMA.listingKey, ...(after ? { '#r': INDEX_SCHEMA.partitionKey } : {}) },
          ExpressionAttributeValues: { ':l': { S: INDEX_SCHEMA.listingValue }, ...(after ? { ':after': { S: after } } : {}) },
          Limit: count - rows.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) rows.push(fromItem(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey && rows.length < count);
    return rows;
  }

  async delete(ref: string): Promise<void> {
    await this.ddb.send(new DeleteItemCommand({ TableName: this.tableName, Key: { [INDEX_SCHEMA.partitionKey]: { S: ref } } }));
  }
}

function fromItem(item: Record<string, AttributeValue>): SizedRef {
  return { blobRef: item[INDEX_SCHEMA.partitionKey].S!, size: Number(item.size.N) };
}
