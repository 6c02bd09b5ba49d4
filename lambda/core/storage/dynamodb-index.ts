import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
  type AttributeValue,
  type DynamoDBClient,
  type KeysAndAttributes,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed } from '../aws/aws-errors.js';
import { mapConcurrently } from '../concurrency.js';
import { INDEX_SCHEMA, partitionValue, shardOf, shardsAfter } from './index-schema.js';
import { ROOT_NAMESPACE, type Namespace } from '../namespace.js';
import { ROW_WRITE_WINDOW_MS } from '../limits.js';
import { legacyBlobKey } from './object-keys.js';
import type { BlobIndex, BlobRow } from './storage-api.js';
import type { Logger } from '../telemetry.js';

export type { BlobIndex, BlobRow, SizedRef } from './storage-api.js';

const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
const MAX_UNPROCESSED_ROUNDS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const backoff = (round: number) => sleep(Math.min(1000, 25 * 2 ** round) * (0.5 + Math.random() / 2));

/**
 * The blob index in DynamoDB: key (shard, blobRef), attributes size, key, offset?, storedAt.
 * Point reads are Get/BatchGetItem, listing is a strongly consistent Query per shard in
 * shard order (index-schema.ts), row writes are BatchWriteItem (25 a request). One instance
 * reads and writes one namespace's rows only (partitionValue): its shards' partition key values.
 */
export class DynamoBlobIndex implements BlobIndex {
  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
    /** Where a failed row write's cause goes (the caller only learns which rows failed). */
    private readonly log?: Logger,
    readonly namespace: Namespace = ROOT_NAMESPACE,
  ) {}

  private keyOf(ref: string): Record<string, AttributeValue> {
    return { [INDEX_SCHEMA.partitionKey]: { S: partitionValue(this.namespace, shardOf(ref)) }, [INDEX_SCHEMA.sortKey]: { S: ref } };
  }

  private itemOf(row: BlobRow): Record<string, AttributeValue> {
    return { ...itemOf(row), ...this.keyOf(row.blobRef) };
  }

  async get(refs: readonly string[]): Promise<Map<string, BlobRow>> {
    const unique = [...new Set(refs)];
    const found = new Map<string, BlobRow>();
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX) chunks.push(unique.slice(i, i + BATCH_GET_MAX));
    await Promise.all(chunks.map((chunk) => this.batchGet(chunk, found)));
    return found;
  }

  private async batchGet(refs: string[], into: Map<string, BlobRow>): Promise<void> {
    let request: KeysAndAttributes | undefined = { Keys: refs.map((r) => this.keyOf(r)), ConsistentRead: true };
    for (let round = 0; request?.Keys?.length; round++) {
      if (round > 0) {
        if (round > MAX_UNPROCESSED_ROUNDS) throw new Error(`BatchGetItem left ${request.Keys.length} keys unprocessed`);
        await backoff(round);
      }
      const out: BatchGetItemCommandOutput = await this.ddb.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: request } }));
      for (const item of out.Responses?.[this.tableName] ?? []) {
        const row = rowOf(item);
        into.set(row.blobRef, row);
      }
      request = out.UnprocessedKeys?.[this.tableName];
    }
  }

  async list(after: string, count: number, within = ''): Promise<BlobRow[]> {
    const rows: BlobRow[] = [];
    for (const shard of shardsAfter(after)) {
      // Only the shards a ref starting with `within` can be in.
      if (!shard.startsWith(within) && !within.startsWith(shard)) continue;
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const out: QueryCommandOutput = await this.ddb.send(
          new QueryCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            KeyConditionExpression: after ? '#s = :s AND #r > :after' : '#s = :s',
            ExpressionAttributeNames: { '#s': INDEX_SCHEMA.partitionKey, ...(after ? { '#r': INDEX_SCHEMA.sortKey } : {}) },
            ExpressionAttributeValues: { ':s': { S: partitionValue(this.namespace, shard) }, ...(after ? { ':after': { S: after } } : {}) },
            Limit: count - rows.length,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of out.Items ?? []) {
          const row = rowOf(item);
          // Refs come in order: the first one past the prefix ends the listing.
          if (!row.blobRef.startsWith(within)) return rows;
          rows.push(row);
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey && rows.length < count);
      if (rows.length >= count) break;
    }
    return rows;
  }

  async put(rows: readonly BlobRow[], sendBy?: number): Promise<string[]> {
    if (!rows.length) return [];
    const deadline = sendBy ?? Math.min(...rows.map((r) => Date.parse(r.storedAt))) + ROW_WRITE_WINDOW_MS;
    const chunks: BlobRow[][] = [];
    for (let i = 0; i < rows.length; i += BATCH_WRITE_MAX) chunks.push(rows.slice(i, i + BATCH_WRITE_MAX));
    const failed = await mapConcurrently(chunks, 4, (chunk) => this.batchWrite(chunk, deadline));
    return failed.flat();
  }

  /** One chunk of up to 25 rows; answers the refs not written. */
  private async batchWrite(rows: BlobRow[], deadline: number): Promise<string[]> {
    let pending: WriteRequest[] = rows.map((r) => ({ PutRequest: { Item: this.itemOf(r) } }));
    try {
      for (let round = 0; pending.length; round++) {
        if (round > 0) {
          if (round > MAX_UNPROCESSED_ROUNDS) break;
          await backoff(round);
        }
        // Past the window the rows are reported failed rather than sent (blob-storage.ts relies on it).
        if (Date.now() > deadline) {
          this.log?.error('row write window passed; rows reported failed, not sent', { rows: pending.length });
          break;
        }
        const out: BatchWriteItemCommandOutput = await this.ddb.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = out.UnprocessedItems?.[this.tableName] ?? [];
      }
    } catch (err) {
      // Unknown whether it was applied: reported failed; the caller never deletes the objects.
      this.log?.error('BatchWriteItem failed', { rows: pending.length, error: err as Error });
    }
    return pending.map((w) => rowOf(w.PutRequest!.Item!).blobRef);
  }

  async deleteIf(ref: string, key: string): Promise<boolean> {
    return ifKeyIs(key, (condition) => this.ddb.send(new DeleteItemCommand({ TableName: this.tableName, Key: this.keyOf(ref), ...condition })));
  }

  async replaceIf(row: BlobRow, oldKey: string | null): Promise<boolean> {
    return ifKeyIs(oldKey, (condition) => this.ddb.send(new PutItemCommand({ TableName: this.tableName, Item: this.itemOf(row), ...condition })));
  }
}

/** Runs a write made to apply only while the row still points at `key` (null: while there is no row): false when it no longer did. */
async function ifKeyIs(
  key: string | null,
  write: (condition: {
    ConditionExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  }) => Promise<unknown>,
): Promise<boolean> {
  try {
    await write(
      key === null
        ? { ConditionExpression: 'attribute_not_exists(#r)', ExpressionAttributeNames: { '#r': INDEX_SCHEMA.sortKey } }
        : { ConditionExpression: '#k = :k', ExpressionAttributeNames: { '#k': 'key' }, ExpressionAttributeValues: { ':k': { S: key } } },
    );
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

function keyOf(ref: string): Record<string, AttributeValue> {
  return { [INDEX_SCHEMA.partitionKey]: { S: shardOf(ref) }, [INDEX_SCHEMA.sortKey]: { S: ref } };
}

function itemOf(row: BlobRow): Record<string, AttributeValue> {
  return {
    ...keyOf(row.blobRef),
    size: { N: String(row.size) },
    key: { S: row.key },
    ...(row.offset !== undefined ? { offset: { N: String(row.offset) } } : {}),
    storedAt: { S: row.storedAt },
  };
}

/** A row as stored; a row without `key` (never written today) points at the legacy object. */
export function rowOf(item: Record<string, AttributeValue>): BlobRow {
  const blobRef = item[INDEX_SCHEMA.sortKey]!.S!;
  return {
    blobRef,
    size: Number(item['size']!.N),
    key: item['key']?.S ?? legacyBlobKey(blobRef),
    ...(item['offset']?.N !== undefined ? { offset: Number(item['offset'].N) } : {}),
    storedAt: item['storedAt']?.S ?? new Date(0).toISOString(),
  };
}
