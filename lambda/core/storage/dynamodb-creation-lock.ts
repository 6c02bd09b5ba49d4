import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed } from '../aws/aws-errors.js';
import { CREATION_LOCK_HOLD_MS, CREATION_LOCK_TTL_MS, CREATION_LOCK_WAIT_MS } from '../limits.js';
import type { Namespace } from '../namespace.js';
import { CreationLockBusy, LocalMutex, type CreationLock } from './creation-lock.js';
import { INDEX_SCHEMA } from './index-schema.js';
import { partitionItems } from './partition-items.js';
import { usageSortKey } from './dynamodb-usage.js';

/**
 * creation-lock.ts's lock as one item per namespace in the index table: partition key value
 * `#creating` (no shard holds `#`), sort key the namespace's as in dynamodb-usage.ts. Taking
 * it is one conditional UpdateItem (free, expired, or already ours: the SDK's retry of a take
 * whose answer was lost); letting go another, conditional on our token. Writers of one
 * process queue in memory first, so only writers of different processes (Lambda instances,
 * a second server) poll the item.
 */
export const CREATION_LOCK_PARTITION = '#creating';

/** Who takes locks in this process, unless told (the local server names its data directory). */
export const DEFAULT_LOCK_HOLDER = `${hostname()}:${process.pid}`;

const NAMES = { '#h': 'holder', '#e': 'expiresAt' };

export class DynamoCreationLock implements CreationLock {
  private readonly mutex = new LocalMutex();

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

  whileCreating<T>(create: (sendBy: number) => Promise<T>): Promise<T> {
    // The wait counts from here, queueing in memory included: behind a dead holder's lock, the
    // writers queued in this process give up together, not one wait after another.
    const giveUpAt = Date.now() + this.waitMs;
    return this.mutex.run(async () => {
      const token = `${this.holder}:${randomUUID()}`;
      const takenAt = await this.take(token, giveUpAt);
      try {
        return await create(takenAt + CREATION_LOCK_HOLD_MS);
      } finally {
        await this.release(token);
      }
    });
  }

  /** Takes the lock; answers the time taken before the winning request was sent. */
  private async take(token: string, giveUpAt: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const at = Date.now();
      try {
        await this.ddb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.key(),
            UpdateExpression: 'SET #h = :me, #e = :until',
            ConditionExpression: 'attribute_not_exists(#h) OR #e < :now OR #h = :me',
            ExpressionAttributeNames: NAMES,
            ExpressionAttributeValues: { ':me': { S: token }, ':until': { N: String(at + CREATION_LOCK_TTL_MS) }, ':now': { N: String(at) } },
          }),
        );
        return at;
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
