import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetBucketVersioningCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { rowOf } from '../../lambda/core/storage/dynamodb-index.js';
import { isNotFound } from '../../lambda/core/aws/aws-errors.js';
import { INDEX_SCHEMA, shardOf } from '../../lambda/core/storage/index-schema.js';
import { legacyBlobKey } from '../../lambda/core/storage/object-keys.js';
import { readConfig, type Config } from '../../lambda/core/config.js';
import { dynamoClientFor, s3ClientFor } from '../../lambda/core/aws/aws-clients.js';
import { DynamoBlobIndex } from '../../lambda/core/storage/dynamodb-index.js';
import { S3BlobStore } from '../../lambda/core/storage/s3-store.js';
import { ensureBucket, ensureTable } from '../../lambda/core/storage/provision.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, BackendEnv, BackendFactory } from './backends.js';
import type { ProxiedRequest } from './aws-proxy.js';

/**
 * Direct looks at what the server stored, with the AWS SDK against the emulators' own
 * endpoints (never through the server, never through a fault-injecting proxy): the index row
 * keyed by the blobref, and the blob's bytes where the row says they are (its object, or its
 * range of a pack); without a row, the blob's own object if there is one (`blobs/<ref>...`).
 */
export interface StoredObject {
  size: number;
  /** As S3 reported them (undefined when it did not). */
  etag?: string | undefined;
  lastModified?: Date | undefined;
}

export interface IndexRow {
  size: number;
  /** Undefined for a row written without one. */
  storedAt?: string | undefined;
  /** The object holding the bytes, and the offset inside it when packed. */
  key: string;
  offset?: number;
}

export interface StorageProbe {
  object(ref: string): Promise<StoredObject | undefined>;
  objectBytes(ref: string): Promise<Buffer | undefined>;
  row(ref: string): Promise<IndexRow | undefined>;
  /** The size of the object at any key (e.g. a staged upload), or undefined. */
  sizeAt(key: string): Promise<number | undefined>;
  /** Every object key starting with `prefix` (one listing page: tests keep them few). */
  keysUnder(prefix: string): Promise<string[]>;
}

export interface StorageNames {
  bucket: string;
  table: string;
}

/**
 * A probe over the emulators described by a backend's env (AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL_DYNAMODB, static credentials). `env` is read on every call, so a probe
 * keeps working after the backend restarted on new ports.
 */
/** The server's Config for a backend's emulators, their static credentials included. */
export function emulatorConfig(env: BackendEnv): Config {
  return { ...readConfig(env), credentials: emulatorCredentials(env) };
}

/** A backend's static credentials, with its session token when it has one (the permission lane's harness). */
export function emulatorCredentials(env: BackendEnv): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/** SDK clients for a backend's emulators, with the client settings the server uses (path style, checksums). */
export function awsClientsFor(env: BackendEnv): { config: Config; s3: S3Client; ddb: DynamoDBClient } {
  const config = emulatorConfig(env);
  return { config, s3: s3ClientFor(config), ddb: dynamoClientFor(config) };
}

export interface BackendStorage {
  backend: Backend;
  config: Config;
  index: DynamoBlobIndex;
  store: S3BlobStore;
  /** Destroys the clients, stops the backend and removes its directory. */
  close(): Promise<void>;
}

/** A backend on a fresh directory, its table and bucket provisioned, and the DynamoDB + S3 storage over it. */
export async function openBackendStorage(factory: BackendFactory, dirPrefix: string): Promise<BackendStorage> {
  const dir = await mkdtemp(join(tmpdir(), dirPrefix));
  const backend = await factory(dir);
  const { config, s3, ddb } = awsClientsFor(backend.env);
  const close = async () => {
    ddb.destroy();
    s3.destroy();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([ensureTable(ddb, config.tableName), ensureBucket(s3, config.bucketName)]);
  } catch (err) {
    await close();
    throw err;
  }
  return { backend, config, index: new DynamoBlobIndex(ddb, config.tableName), store: new S3BlobStore(s3, config.bucketName), close };
}

/** Whether the store's bucket keeps noncurrent versions (LocalStack: yes; s3rver has no versioning and answers with a listing). */
export async function keepsVersions(store: S3BlobStore): Promise<boolean> {
  try {
    return (await store.s3.send(new GetBucketVersioningCommand({ Bucket: store.bucketName }))).Status === 'Enabled';
  } catch {
    return false;
  }
}

export function storageProbe(env: () => BackendEnv, names: StorageNames): StorageProbe {
  let cached: { key: string; s3: S3Client; ddb: DynamoDBClient } | undefined;
  const clients = () => {
    const e = env();
    const key = `${e.AWS_ENDPOINT_URL_S3} ${e.AWS_ENDPOINT_URL_DYNAMODB}`;
    if (cached?.key !== key) {
      const { s3, ddb } = awsClientsFor(e);
      cached = { key, s3, ddb };
    }
    return cached;
  };
  const row = async (ref: string): Promise<IndexRow | undefined> => {
    const out = await clients().ddb.send(
      new GetItemCommand({
        TableName: names.table,
        Key: { [INDEX_SCHEMA.partitionKey]: { S: shardOf(ref) }, [INDEX_SCHEMA.sortKey]: { S: ref } },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const r = rowOf(out.Item);
    return { size: r.size, storedAt: out.Item['storedAt']?.S, key: r.key, ...(r.offset !== undefined ? { offset: r.offset } : {}) };
  };
  /** Where the blob's bytes are: the row's place, else the blob's own (unindexed) object, if any. */
  const place = async (ref: string): Promise<{ key: string; offset?: number; size?: number } | undefined> => {
    const r = await row(ref);
    if (r) return r.offset === undefined ? { key: r.key } : { key: r.key, offset: r.offset, size: r.size };
    const out = await clients().s3.send(new ListObjectsV2Command({ Bucket: names.bucket, Prefix: legacyBlobKey(ref), MaxKeys: 1 }));
    const key = out.Contents?.[0]?.Key;
    return key ? { key } : undefined;
  };
  const get = async (key: string, range?: string) => {
    try {
      const out = await clients().s3.send(new GetObjectCommand({ Bucket: names.bucket, Key: key, Range: range }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    async object(ref) {
      const at = await place(ref);
      if (!at) return undefined;
      try {
        const out = await clients().s3.send(new HeadObjectCommand({ Bucket: names.bucket, Key: at.key }));
        return { size: at.size ?? out.ContentLength ?? -1, etag: out.ETag, lastModified: out.LastModified };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async sizeAt(key) {
      try {
        return (await clients().s3.send(new HeadObjectCommand({ Bucket: names.bucket, Key: key }))).ContentLength;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async objectBytes(ref) {
      const at = await place(ref);
      if (!at) return undefined;
      if (at.offset === undefined) return get(at.key);
      if (at.size === 0) return (await get(at.key)) ? Buffer.alloc(0) : undefined;
      // At most the range: s3rver answers `bytes=0-0` with the whole object (as S3BlobStore.read says).
      return (await get(at.key, `bytes=${at.offset}-${at.offset + at.size! - 1}`))?.subarray(0, at.size);
    },
    async keysUnder(prefix) {
      const out = await clients().s3.send(new ListObjectsV2Command({ Bucket: names.bucket, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key!);
    },
    row,
  };
}

/** The S3 object key a request seen by a proxy in front of S3 names (path-style URLs: /bucket/key). */
export function objectKeyOf(req: ProxiedRequest): string {
  return decodeURIComponent(req.url.split('?')[0]!).split('/').slice(2).join('/');
}

/** Whether a request seen by a proxy in front of S3 is a PutObject of this blob's own object. */
export function isPutObjectOf(req: ProxiedRequest, ref: string): boolean {
  if (req.method !== 'PUT') return false;
  const key = objectKeyOf(req);
  return key === legacyBlobKey(ref) || key.startsWith(`${legacyBlobKey(ref)}/`);
}

/** Whether a request seen by a proxy in front of S3 is a PutObject of a pack. */
export function isPackPut(req: ProxiedRequest): boolean {
  return req.method === 'PUT' && objectKeyOf(req).startsWith('packs/');
}

/** The blobrefs a DynamoDB BatchWriteItem (puts), a PutItem or a DeleteItem seen by a proxy writes; [] for any other request. */
export function rowWriteRefs(req: ProxiedRequest): string[] {
  try {
    const body = JSON.parse(req.body.toString('utf8')) as {
      RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, { S?: string }> } }[]>;
      Key?: Record<string, { S?: string }>;
      Item?: Record<string, { S?: string }>;
    };
    if (req.operation === 'DeleteItem') return [body.Key?.[INDEX_SCHEMA.sortKey]?.S ?? ''];
    if (req.operation === 'PutItem') return [body.Item?.[INDEX_SCHEMA.sortKey]?.S ?? ''];
    if (req.operation !== 'BatchWriteItem') return [];
    return Object.values(body.RequestItems ?? {}).flatMap((ws) => ws.map((w) => w.PutRequest?.Item?.[INDEX_SCHEMA.sortKey]?.S ?? ''));
  } catch {
    return [];
  }
}
