import { BatchGetItemCommand, type BatchGetItemCommandOutput, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed } from '../aws/aws-errors.js';
import { OPERATIONS, type CredentialRecord, type Operation } from '../scopes.js';
import { INDEX_SCHEMA } from './index-schema.js';
import { partitionItems } from './partition-items.js';

/**
 * Credentials as rows of the index table (docs/security.md says why not a table of their own):
 * one partition, `#credentials`, sort key the credential's id. No blob row can be there: a
 * partition key value of the blob index is a shard (`sha224-a`) or `<namespace>/<shard>`, never
 * starting with `#`, and no code lists the table by Scan. The calls are the ones the functions'
 * roles already hold: BatchGetItem (every side's lookup, strongly consistent), Query (the list,
 * on the read side) and a conditional PutItem (add and revoke, on the write side).
 */
export const CREDENTIALS_PARTITION = '#credentials';

export interface CredentialRows {
  get(id: string): Promise<CredentialRecord | undefined>;
  list(): Promise<CredentialRecord[]>;
  /** Writes a new credential; false when its id is taken. */
  add(record: CredentialRecord): Promise<boolean>;
  /** Marks it revoked (keeping the first revocation time); undefined when there is no such credential. */
  revoke(id: string, nowSeconds: number): Promise<CredentialRecord | undefined>;
}

const keyOf = (id: string): Record<string, AttributeValue> => ({
  [INDEX_SCHEMA.partitionKey]: { S: CREDENTIALS_PARTITION },
  [INDEX_SCHEMA.sortKey]: { S: id },
});

function itemOf(r: CredentialRecord): Record<string, AttributeValue> {
  return {
    ...keyOf(r.id),
    label: { S: r.label },
    namespaces: { L: r.namespaces.map((n) => ({ S: n })) },
    operations: { L: r.operations.map((o) => ({ S: o })) },
    createdAt: { N: String(r.createdAt) },
    hash: { S: r.hash },
    ...(r.expiresAt !== undefined ? { expiresAt: { N: String(r.expiresAt) } } : {}),
    ...(r.revokedAt !== undefined ? { revokedAt: { N: String(r.revokedAt) } } : {}),
  };
}

function recordOf(item: Record<string, AttributeValue>): CredentialRecord {
  const strings = (v: AttributeValue | undefined) => (v?.L ?? []).map((e) => e.S ?? '');
  return {
    id: item[INDEX_SCHEMA.sortKey]!.S!,
    label: item['label']?.S ?? '',
    namespaces: strings(item['namespaces']),
    // An operation this code does not know (a row from a later version) grants nothing.
    operations: strings(item['operations']).filter((o): o is Operation => (OPERATIONS as readonly string[]).includes(o)),
    createdAt: Number(item['createdAt']?.N ?? 0),
    hash: item['hash']?.S ?? '',
    ...(item['expiresAt']?.N !== undefined ? { expiresAt: Number(item['expiresAt'].N) } : {}),
    ...(item['revokedAt']?.N !== undefined ? { revokedAt: Number(item['revokedAt'].N) } : {}),
  };
}

export class DynamoCredentialRows implements CredentialRows {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(id: string): Promise<CredentialRecord | undefined> {
    // BatchGetItem for one key: the call every function's role has (grants.ts), strongly consistent.
    const out: BatchGetItemCommandOutput = await this.ddb.send(
      new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: [keyOf(id)], ConsistentRead: true } } }),
    );
    if (out.UnprocessedKeys?.[this.tableName]?.Keys?.length) throw new Error('credential lookup was not processed (throttled)');
    const item = out.Responses?.[this.tableName]?.[0];
    return item ? recordOf(item) : undefined;
  }

  async list(): Promise<CredentialRecord[]> {
    const found: CredentialRecord[] = [];
    for await (const item of partitionItems(this.ddb, this.tableName, CREDENTIALS_PARTITION)) found.push(recordOf(item));
    return found;
  }

  async add(record: CredentialRecord): Promise<boolean> {
    try {
      await this.ddb.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: itemOf(record),
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': INDEX_SCHEMA.sortKey },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }

  async revoke(id: string, nowSeconds: number): Promise<CredentialRecord | undefined> {
    // Read, then put the row back revoked, only if it is still the row read (its hash: a row is
    // never rewritten otherwise, and nothing un-revokes), so a concurrent revoke loses nothing.
    for (;;) {
      const current = await this.get(id);
      if (!current) return undefined;
      if (current.revokedAt !== undefined) return current;
      const revoked = { ...current, revokedAt: Math.floor(nowSeconds) };
      try {
        await this.ddb.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: itemOf(revoked),
            ConditionExpression: '#h = :h AND attribute_not_exists(revokedAt)',
            ExpressionAttributeNames: { '#h': 'hash' },
            ExpressionAttributeValues: { ':h': { S: current.hash } },
          }),
        );
        return revoked;
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
    }
  }
}

/** The same in memory (unit tests, and deps given storage from outside). */
export class MemoryCredentialRows implements CredentialRows {
  readonly rows = new Map<string, CredentialRecord>();
  reads = 0;

  async get(id: string): Promise<CredentialRecord | undefined> {
    this.reads++;
    const r = this.rows.get(id);
    return r && { ...r };
  }

  async list(): Promise<CredentialRecord[]> {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }

  async add(record: CredentialRecord): Promise<boolean> {
    if (this.rows.has(record.id)) return false;
    this.rows.set(record.id, { ...record });
    return true;
  }

  async revoke(id: string, nowSeconds: number): Promise<CredentialRecord | undefined> {
    const r = this.rows.get(id);
    if (!r) return undefined;
    r.revokedAt ??= Math.floor(nowSeconds);
    return { ...r };
  }
}
