import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed } from '../aws/aws-errors.js';
import { CREATION_LOCK_HOLD_MS, CREATION_LOCK_TTL_MS, CREATION_LOCK_WAIT_MS } from '../limits.js';
import type { Namespace } from '../namespace.js';
import { CreationHistory, type LockMark } from './creation-history.js';
import { CreationLockBusy, holdingOf, LocalMutex, type CreationHolding, type CreationLock } from './creation-lock.js';
import { INDEX_SCHEMA } from './index-schema.js';
import { partitionItems } from './partition-items.js';
import { usageSortKey } from './dynamodb-usage.js';

/**
 * creation-lock.ts's lock as one item per namespace in the index table: partition key value
 * `#creating` (no shard holds `#`), sort key the namespace's as in dynamodb-usage.ts. Taking
 * it is one conditional UpdateItem (free, expired, or already ours: the SDK's retry of a take
 * whose answer was lost); letting go another, conditional on our token. Writers of one
 * process queue in memory first, so only writers of different processes (Lambda instances,
 * a second server) poll the item. A take also adds one to the item's count and answers it, with
 * the birth the item got when it was made: this process's history (creation-history.ts).
 * Nothing deletes the item, so its count only grows.
 */
export const CREATION_LOCK_PARTITION = '#creating';

/** Who takes locks in this process, unless told (the local server names its data directory). */
export const DEFAULT_LOCK_HOLDER = `${hostname()}:${process.pid}`;

const NAMES = { '#h': 'holder', '#e': 'expiresAt' };
const COUNTED = { ...NAMES, '#n': 'takes', '#b': 'birth' };

export class DynamoCreationLock implements CreationLock {
  private readonly mutex = new LocalMutex();
  private readonly history = new CreationHistory();

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    private readonly namespace: Namespace,
    /** Prefix of this process's tokens (clearStaleCreationLocks finds a dead predecessor's by it). */
    private readonly holder = DEFAULT_LOCK_HOLDER,
    private readonly waitMs = CREATION_LOCK_WAIT_MS,
  ) {}

  private key(): Record<string, AttributeValue> {
    return { [INDEX_SCHEMA.partitionKey]: { S: CREATION_LOCK_PARTITION }, [INDEX_SCHEMA.sortKey]: { S: usageSortKey(this.namespace) } };
  }

  whileCreating<T>(create: (sendBy: number, holding: CreationHolding) => Promise<T>): Promise<T> {
    // The wait counts from here, queueing in memory included: behind a dead holder's lock, the
    // writers queued in this process give up together, not one wait after another.
    const giveUpAt = Date.now() + this.waitMs;
    return this.mutex.run(async () => {
      const token = `${this.holder}:${randomUUID()}`;
      const taken = await this.take(token, giveUpAt);
      try {
        return await create(taken.at + CREATION_LOCK_HOLD_MS, holdingOf(this.history, taken.birth, taken.count));
      } finally {
        await this.release(token);
      }
    });
  }

  /**
   * After this process's first take, its own history; before, the item as it was when first
   * read: a lock let go at count c was last held by take c, whose rows are all written; a lock
   * still held (or expired, its holder maybe still writing) by take c may write more.
   */
  async mark(): Promise<LockMark | undefined> {
    const ours = this.history.mark();
    if (ours) return ours;
    let { Item: item } = await this.ddb.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(), ConsistentRead: true }));
    if (!item?.['birth']) {
      // A lock never taken since it counts: give it its birth now, so the mark names its life.
      ({ Attributes: item } = await this.ddb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(),
          UpdateExpression: 'SET #b = if_not_exists(#b, :birth)',
          ExpressionAttributeNames: { '#b': 'birth' },
          ExpressionAttributeValues: { ':birth': { S: randomUUID() } },
          ReturnValues: 'ALL_NEW',
        }),
      ));
    }
    const birth = item?.['birth']?.S;
    if (birth === undefined) return undefined;
    const count = Number(item!['takes']?.N ?? 0);
    return this.history.observed({ birth, from: item!['holder'] ? count : count + 1 });
  }

  /** Takes the lock; answers the time taken before the winning request was sent, and the take's place in the history. */
  private async take(token: string, giveUpAt: number): Promise<{ at: number; birth: string; count: number }> {
    for (let attempt = 0; ; attempt++) {
      const at = Date.now();
      try {
        const { Attributes: item } = await this.ddb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.key(),
            UpdateExpression: 'SET #h = :me, #e = :until, #b = if_not_exists(#b, :birth) ADD #n :one',
            ConditionExpression: 'attribute_not_exists(#h) OR #e < :now OR #h = :me',
            ExpressionAttributeNames: COUNTED,
            ExpressionAttributeValues: {
              ':me': { S: token },
              ':until': { N: String(at + CREATION_LOCK_TTL_MS) },
              ':now': { N: String(at) },
              ':birth': { S: randomUUID() },
              ':one': { N: '1' },
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const birth = item?.['birth']?.S;
        const count = Number(item?.['takes']?.N);
        // Not answered (never seen): a life of its own, which no earlier mark is in.
        if (birth === undefined || !Number.isSafeInteger(count)) return { at, birth: `unanswered:${randomUUID()}`, count: 1 };
        return { at, birth, count };
      } catch (err) {
        if (!isConditionalCheckFailed(err)) throw err;
      }
      if (Date.now() >= giveUpAt) throw new CreationLockBusy(this.namespace.name || 'the root namespace');
      // Another process holds it: a holder keeps it for milliseconds, so poll soon, then less often.
      await new Promise((r) => setTimeout(r, Math.min(5 * 2 ** Math.min(attempt, 4), 80) * (0.5 + Math.random())));
    }
  }

  /** Lets go if still ours; a failure leaves it to expire (the next holder waits at most the TTL). */
  private async release(token: string): Promise<void> {
    try {
      await letGo(this.ddb, this.tableName, this.key(), token);
    } catch {
      // Not ours any more (expired and taken), or unknown: the TTL frees it either way.
    }
  }
}

/**
 * Empties a lock item if `token` holds it. An UpdateItem, not a DeleteItem: the write side's
 * role may delete no item of the table unless removal is enabled (infra/grants.ts).
 */
async function letGo(ddb: DynamoDBClient, tableName: string, key: Record<string, AttributeValue>, token: string): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'REMOVE #h, #e',
      ConditionExpression: '#h = :me',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':me': { S: token } },
    }),
  );
}

/**
 * Lets go the locks whose holder starts with `holder:`: a process that proves it is that
 * holder's successor (the local server, which owns its data directory's lock) takes back
 * what its killed predecessor held, instead of waiting out the TTL. Answers how many.
 */
export async function clearStaleCreationLocks(ddb: DynamoDBClient, tableName: string, holder: string): Promise<number> {
  let cleared = 0;
  for await (const item of partitionItems(ddb, tableName, CREATION_LOCK_PARTITION)) {
    const token = item['holder']?.S;
    if (!token?.startsWith(`${holder}:`)) continue;
    try {
      await letGo(
        ddb,
        tableName,
        { [INDEX_SCHEMA.partitionKey]: item[INDEX_SCHEMA.partitionKey]!, [INDEX_SCHEMA.sortKey]: item[INDEX_SCHEMA.sortKey]! },
        token,
      );
      cleared++;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
    }
  }
  return cleared;
}

/** One lock object per namespace for this process, so its writers queue in memory first. */
export class DynamoCreationLocks {
  private readonly locks = new Map<string, DynamoCreationLock>();

  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    private readonly holder = DEFAULT_LOCK_HOLDER,
  ) {}

  for(ns: Namespace): CreationLock {
    let lock = this.locks.get(ns.name);
    if (!lock) {
      // Dropping the map costs only queueing: a second object for a namespace polls the item instead.
      if (this.locks.size >= 256) this.locks.clear();
      lock = new DynamoCreationLock(this.ddb, this.tableName, ns, this.holder);
      this.locks.set(ns.name, lock);
    }
    return lock;
  }
}
