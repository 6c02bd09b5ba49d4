import { BatchGetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed } from '../aws/aws-errors.js';
import { namedNamespace, namespaceNameProblem, ROOT_NAMESPACE, type Namespace } from '../namespace.js';
import { INDEX_SCHEMA } from './index-schema.js';
import { partitionItems } from './partition-items.js';
import { EMPTY_USAGE, exceedsLimits, type Limits, type QuotaRefusal, type Usage, type UsageDelta, type UsageLedger, type UsageTable } from './usage.js';

/**
 * Usage records in the index table, one item per namespace under the partition key value
 * `#usage` (no shard and no `<name>/<shard>` can be it: shards never hold `#`), sort key the
 * namespace's name (`/` for the root). So no new table, and the rows' Query and BatchGetItem
 * grants read them; counting needs UpdateItem (the write side's grant).
 *
 * A reservation is one conditional UpdateItem: ADD the delta if the counters stay within the
 * limits the caller last saw (`maxBytes = :mb AND bytes <= :mb - delta`: DynamoDB conditions
 * cannot add, so the caller does the arithmetic and the condition pins the limit it used).
 * An instance keeps the limits it last read: when they are unchanged (nearly always) a
 * reservation is that one write; a changed limit fails the condition, and the record is read
 * (one strongly consistent read) and the reservation tried again on what it says.
 */
export const USAGE_PARTITION = '#usage';
const ROOT_KEY = '/';
const ATTEMPTS = 6;

const NAMES = { '#b': 'bytes', '#n': 'blobs', '#q': 'seq', '#u': 'updatedAt', '#mb': 'maxBytes', '#mn': 'maxBlobs' };

export function usageSortKey(ns: Namespace): string {
  return ns.name || ROOT_KEY;
}

function namespaceOfKey(key: string): Namespace | undefined {
  if (key === ROOT_KEY) return ROOT_NAMESPACE;
  return namespaceNameProblem(key) === undefined ? namedNamespace(key) : undefined;
}

const num = (v: AttributeValue | undefined): number | undefined => (v?.N === undefined ? undefined : Number(v.N));

function usageOf(item: Record<string, AttributeValue> | undefined): Usage {
  if (!item) return { ...EMPTY_USAGE };
  const maxBytes = num(item['maxBytes']);
  const maxBlobs = num(item['maxBlobs']);
  return {
    bytes: num(item['bytes']) ?? 0,
    blobs: num(item['blobs']) ?? 0,
    seq: num(item['seq']) ?? 0,
    updatedAt: num(item['updatedAt']) ?? 0,
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    ...(maxBlobs !== undefined ? { maxBlobs } : {}),
  };
}

export class DynamoUsageTable implements UsageTable {
  private readonly ledgers = new Map<string, DynamoUsageLedger>();

  constructor(
    private readonly ddb: DynamoDBClient,
    readonly tableName: string,
  ) {}

  ledger(ns: Namespace): UsageLedger {
    let l = this.ledgers.get(ns.name);
    if (!l) {
      if (this.ledgers.size >= 256) this.ledgers.clear();
      l = new DynamoUsageLedger(this.ddb, this.tableName, ns);
      this.ledgers.set(ns.name, l);
    }
    return l;
  }

  async list(): Promise<{ namespace: Namespace; usage: Usage }[]> {
    const out: { namespace: Namespace; usage: Usage }[] = [];
    for await (const item of partitionItems(this.ddb, this.tableName, USAGE_PARTITION)) {
      const namespace = namespaceOfKey(item[INDEX_SCHEMA.sortKey]!.S!);
      if (namespace) out.push({ namespace, usage: usageOf(item) });
    }
    // '/' sorts before every name: the root first, then by name.
    return out.sort((a, b) => (usageSortKey(a.namespace) < usageSortKey(b.namespace) ? -1 : 1));
  }
}

export class DynamoUsageLedger implements UsageLedger {
  /** The limits this instance last read (undefined: never read; a reservation then assumes none and learns). */
  private limits: Limits | undefined;

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    readonly namespace: Namespace,
  ) {}

  private key(): Record<string, AttributeValue> {
    return { [INDEX_SCHEMA.partitionKey]: { S: USAGE_PARTITION }, [INDEX_SCHEMA.sortKey]: { S: usageSortKey(this.namespace) } };
  }

  async reserve(delta: UsageDelta): Promise<QuotaRefusal | undefined> {
    if (delta.bytes <= 0 && delta.blobs <= 0) return undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const condition = withinLimits(this.limits ?? {}, delta);
      if (condition) {
        try {
          await this.add(delta, condition);
          return undefined;
        } catch (err) {
          if (!isConditionalCheckFailed(err)) throw err;
        }
      }
      const now = await this.read();
      if (exceedsLimits(now, delta)) return { usage: now, wanted: delta };
    }
    throw new Error(`the limits of ${this.namespace.name || 'the root namespace'} changed under ${ATTEMPTS} reservations in a row`);
  }

  async adjust(delta: UsageDelta): Promise<void> {
    if (delta.bytes === 0 && delta.blobs === 0) return;
    await this.add(delta);
  }

  private async add(delta: UsageDelta, condition?: { expression: string; values: Record<string, AttributeValue> }): Promise<void> {
    await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(),
        UpdateExpression: 'ADD #b :b, #n :n, #q :one SET #u = :now',
        ExpressionAttributeNames: condition ? NAMES : { '#b': 'bytes', '#n': 'blobs', '#q': 'seq', '#u': 'updatedAt' },
        ExpressionAttributeValues: {
          ':b': { N: String(delta.bytes) },
          ':n': { N: String(delta.blobs) },
          ':one': { N: '1' },
          ':now': { N: String(Date.now()) },
          ...(condition?.values ?? {}),
        },
        ...(condition ? { ConditionExpression: condition.expression } : {}),
      }),
    );
  }

  async read(): Promise<Usage> {
    const out = await this.ddb.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: [this.key()], ConsistentRead: true } } }));
    if (out.UnprocessedKeys?.[this.tableName]?.Keys?.length) throw new Error('reading the usage record was not processed (throttled); retry');
    const usage = usageOf(out.Responses?.[this.tableName]?.[0]);
    this.limits = { maxBytes: usage.maxBytes, maxBlobs: usage.maxBlobs };
    return usage;
  }

  async setLimits(limits: { maxBytes?: number | null | undefined; maxBlobs?: number | null | undefined }): Promise<Usage> {
    const set = ['#b = if_not_exists(#b, :zero)', '#n = if_not_exists(#n, :zero)', '#q = if_not_exists(#q, :zero)'];
    const remove: string[] = [];
    const values: Record<string, AttributeValue> = { ':zero': { N: '0' } };
    const names: Record<string, string> = { '#b': 'bytes', '#n': 'blobs', '#q': 'seq' };
    for (const [k, alias] of [
      ['maxBytes', '#mb'],
      ['maxBlobs', '#mn'],
    ] as const) {
      const v = limits[k];
      if (v !== undefined) names[alias] = k;
      if (v === null) remove.push(alias);
      else if (v !== undefined) {
        set.push(`${alias} = :${k}`);
        values[`:${k}`] = { N: String(v) };
      }
    }
    const out = await this.ddb.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(),
        UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const usage = usageOf(out.Attributes);
    this.limits = { maxBytes: usage.maxBytes, maxBlobs: usage.maxBlobs };
    return usage;
  }

  async replaceIfUnchanged(seen: Usage, counted: UsageDelta): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(),
          UpdateExpression: 'SET #b = :b, #n = :n, #u = :now ADD #q :one',
          ConditionExpression: seen.seq === 0 ? 'attribute_not_exists(#q) OR #q = :seq' : '#q = :seq',
          ExpressionAttributeNames: { '#b': 'bytes', '#n': 'blobs', '#q': 'seq', '#u': 'updatedAt' },
          ExpressionAttributeValues: {
            ':b': { N: String(counted.bytes) },
            ':n': { N: String(counted.blobs) },
            ':one': { N: '1' },
            ':now': { N: String(Date.now()) },
            ':seq': { N: String(seen.seq) },
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw err;
    }
  }
}

/**
 * The condition under which adding `delta` keeps within `limits` (as last read), pinning those
 * limits; undefined when the delta alone passes a limit (the record is read before refusing:
 * the limit may have been raised).
 */
function withinLimits(limits: Limits, delta: UsageDelta): { expression: string; values: Record<string, AttributeValue> } | undefined {
  const clauses: string[] = [];
  const values: Record<string, AttributeValue> = {};
  for (const [limit, count, lim, cnt, d] of [
    [limits.maxBytes, 'bytes', '#mb', '#b', delta.bytes],
    [limits.maxBlobs, 'blobs', '#mn', '#n', delta.blobs],
  ] as const) {
    if (limit === undefined) {
      clauses.push(`attribute_not_exists(${lim})`);
      continue;
    }
    if (limit - d < 0) return undefined;
    clauses.push(`${lim} = :${count}Limit AND ${cnt} <= :${count}Room`);
    values[`:${count}Limit`] = { N: String(limit) };
    values[`:${count}Room`] = { N: String(limit - d) };
  }
  return { expression: clauses.join(' AND '), values };
}
