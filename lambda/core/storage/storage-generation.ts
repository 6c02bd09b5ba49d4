import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isAccessDenied, isNotFound, isPreconditionFailed } from '../aws/aws-errors.js';
import { crc32Checksum } from '../aws/checksums.js';
import { bucketKey, GENERATION_KEY } from './object-keys.js';
import { ROOT_NAMESPACE, type Namespace } from '../namespace.js';

/**
 * The store's generation, as perkeepd reports it in discovery (`storageGeneration`,
 * `storageInitTime`): a random id created once with the store and kept with it. Perkeep's
 * client keys its "have cache" by it, so it must be the same on every function instance and
 * new for a new (or wiped) store. It lives as one small object in the bucket, next to the
 * blobs and outside their prefix, created with If-None-Match so the first writer wins and
 * every instance reads back that one.
 */

export interface StorageGeneration {
  generation: string;
  /** RFC 3339, when the generation was created. */
  initTime: string;
}

export type StorageGenerationSource = () => Promise<StorageGeneration>;

/**
 * S3 answers a missing object with 403, not 404, to a caller without s3:ListBucket (the read
 * side has none), so before the first create a 403 may mean "not there yet" too.
 */
async function read(s3: S3Client, bucket: string, key: string, opts: { deniedMeansMissing: boolean }): Promise<StorageGeneration | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const parsed = JSON.parse(await out.Body!.transformToString()) as Partial<StorageGeneration>;
    if (typeof parsed.generation !== 'string' || typeof parsed.initTime !== 'string') throw new Error(`${key} is not a storage generation`);
    return { generation: parsed.generation, initTime: parsed.initTime };
  } catch (err) {
    if (isNotFound(err) || (opts.deniedMeansMissing && isAccessDenied(err))) return undefined;
    throw err;
  }
}

/**
 * Reads the generation once per instance (creating it on the store's first use). A failure is
 * not cached. Each namespace has its own (`ns/<name>/meta/storage-generation.json`, bucketKey):
 * a Perkeep client's have-cache for one namespace never vouches for another's blobs.
 */
export function storageGenerationSource(
  s3: S3Client,
  bucket: string,
  now: () => Date = () => new Date(),
  ns: Namespace = ROOT_NAMESPACE,
): StorageGenerationSource {
  const key = bucketKey(ns, GENERATION_KEY);
  let cached: Promise<StorageGeneration> | undefined;
  const load = async (): Promise<StorageGeneration> => {
    const existing = await read(s3, bucket, key, { deniedMeansMissing: true });
    if (existing) return existing;
    const fresh: StorageGeneration = { generation: randomBytes(16).toString('hex'), initTime: now().toISOString() };
    const body = Buffer.from(JSON.stringify(fresh));
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ChecksumCRC32: crc32Checksum(body),
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err; // another instance created it first
    }
    const stored = await read(s3, bucket, key, { deniedMeansMissing: false });
    if (!stored) throw new Error(`${key} missing right after it was written`);
    return stored;
  };
  return () => {
    cached ??= load().catch((err) => {
      cached = undefined;
      throw err;
    });
    return cached;
  };
}
