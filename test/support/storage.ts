import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { INDEX_SCHEMA } from '../../lambda/core/blob-index.js';
import { blobKey, isNotFound } from '../../lambda/core/blob-store.js';
import { readConfig } from '../../lambda/core/config.js';
import { dynamoClientFor, s3ClientFor } from '../../lambda/core/deps.js';
import { STAGING_PREFIX } from '../../lambda/core/staging.js';
import type { ProxiedRequest } from './aws-proxy.js';

/**
 * Direct looks at what the server stored, with the AWS SDK against the emulators' own
 * endpoints (never through the server, never through a fault-injecting proxy): the S3
 * object under `blobs/<ref>` and the index row keyed by the blobref.
 */
export interface StoredObject {
  size: number;
  etag?: string;
  lastModified?: Date;
}

export interface IndexRow {
  size: number;
  storedAt?: string;
}

export interface StorageProbe {
  object(ref: string): Promise<StoredObject | undefined>;
  objectBytes(ref: string): Promise<Buffer | undefined>;
  row(ref: string): Promise<IndexRow | undefined>;
  /** The size of the object at any key (e.g. a staged upload), or undefined. */
  sizeAt(key: string): Promise<number | undefined>;
  /** Every key under the staging prefix (unverified presigned-POST uploads). */
  stagedKeys(): Promise<string[]>;
}

export interface StorageNames {
  bucket: string;
  table: string;
}

/** The S3 key the store uses for a blob. */
export const objectKey = blobKey;

/**
 * A probe over the emulators described by a backend's env (AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL_DYNAMODB, static credentials). `env` is read on every call, so a probe
 * keeps working after the backend restarted on new ports.
 */
export function storageProbe(env: () => Record<string, string>, names: StorageNames): StorageProbe {
  let cached: { key: string; s3: S3Client; ddb: DynamoDBClient } | undefined;
  const clients = () => {
    const e = env();
    const key = `${e.AWS_ENDPOINT_URL_S3} ${e.AWS_ENDPOINT_URL_DYNAMODB}`;
    if (cached?.key !== key) {
      // The same client settings the server uses for these endpoints (path style, checksums).
      const config = { ...readConfig(e), credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY } };
      cached = { key, s3: s3ClientFor(config), ddb: dynamoClientFor(config) };
    }
    return cached;
  };
  return {
    async object(ref) {
      try {
        const out = await clients().s3.send(new HeadObjectCommand({ Bucket: names.bucket, Key: objectKey(ref) }));
        return { size: out.ContentLength ?? -1, etag: out.ETag, lastModified: out.LastModified };
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
    async stagedKeys() {
      const out = await clients().s3.send(new ListObjectsV2Command({ Bucket: names.bucket, Prefix: STAGING_PREFIX }));
      return (out.Contents ?? []).map((o) => o.Key!);
    },
    async objectBytes(ref) {
      try {
        const out = await clients().s3.send(new GetObjectCommand({ Bucket: names.bucket, Key: objectKey(ref) }));
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async row(ref) {
      const out = await clients().ddb.send(new GetItemCommand({ TableName: names.table, Key: { [INDEX_SCHEMA.partitionKey]: { S: ref } }, ConsistentRead: true }));
      if (!out.Item) return undefined;
      return { size: Number(out.Item.size?.N), storedAt: out.Item.storedAt?.S };
    },
  };
}

/** Whether a request seen by a proxy in front of S3 is a PutObject of this blob's object. */
export function isPutObjectOf(req: ProxiedRequest, ref: string): boolean {
  if (req.method !== 'PUT') return false;
  const path = decodeURIComponent(req.url.split('?')[0]);
  return path.endsWith(`/${objectKey(ref)}`);
}

/** The blobref a DynamoDB PutItem seen by a proxy writes, or undefined for any other request. */
export function putItemRef(req: ProxiedRequest): string | undefined {
  if (req.operation !== 'PutItem') return undefined;
  try {
    const body = JSON.parse(req.body.toString('utf8')) as { Item?: Record<string, { S?: string }> };
    return body.Item?.[INDEX_SCHEMA.partitionKey]?.S;
  } catch {
    return undefined;
  }
}
