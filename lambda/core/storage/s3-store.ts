import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { crc32Checksum } from '../aws/checksums.js';
import { httpStatusOf, isInvalidRange, isNotFound } from '../aws/aws-errors.js';
import { isMissingObject } from '../aws/object-absence.js';
import { signingExpiration, signingLifetime } from '../aws/signing-lifetime.js';
import type { BlobStore, ObjectVersion, ObjectVersions, StoredObjectInfo } from './storage-api.js';

/** Immutable objects in one S3 bucket (the key layout is object-keys.ts). */
export class S3BlobStore implements BlobStore {
  /**
   * The bucket's noncurrent versions. Asked of every S3: the stack's bucket is versioned, and so
   * is the local server's on LocalStack (provision.ts); an unversioned bucket has none to give.
   */
  readonly versions: ObjectVersions = {
    noncurrent: (key) => this.noncurrentVersions(key),
    read: async (key, versionId) => {
      try {
        const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketName, Key: key, VersionId: versionId }));
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    // Server-side: a version is immutable, so the copy is the bytes just read and verified.
    // REPLACE (with the metadata every object has): LocalStack refuses a copy onto its own key
    // that changes no metadata, even from another version; S3 takes either.
    restore: async (key, versionId) => {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucketName,
          Key: key,
          CopySource: `${this.bucketName}/${encodeURIComponent(key).replace(/%2F/g, '/')}?versionId=${encodeURIComponent(versionId)}`,
          MetadataDirective: 'REPLACE',
          ContentType: 'application/octet-stream',
          // As every write (sdk-bounds): the restored object carries its CRC32, computed by S3 over the copied bytes.
          ChecksumAlgorithm: 'CRC32',
        }),
      );
    },
  };

  constructor(
    readonly s3: S3Client,
    readonly bucketName: string,
    /** Signs URLs handed to clients; differs from `s3` only where clients reach S3 by another address. */
    private readonly presigner: S3Client = s3,
  ) {}

  async create(key: string, body: Buffer): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketName,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: 'application/octet-stream',
        // S3 stores nothing unless the bytes it received have this CRC32 (checksums.ts).
        ChecksumCRC32: crc32Checksum(body),
        // S3 (and LocalStack) refuse to overwrite an existing key; s3rver ignores it, and our keys are unique anyway.
        IfNoneMatch: '*',
      }),
    );
  }

  async read(key: string, range?: { offset: number; length: number }): Promise<Buffer | undefined> {
    // An empty range cannot be expressed as an HTTP Range; the object's existence is all there is to check.
    if (range && range.length === 0) return (await this.size(key)) === undefined ? undefined : Buffer.alloc(0);
    try {
      const out = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucketName,
          Key: key,
          ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        }),
      );
      const bytes = Buffer.from(await out.Body!.transformToByteArray());
      // At most the range: S3 never sends more, but s3rver answers `bytes=0-0` with the whole
      // object (it takes an end of 0 for none), so a one-byte blob first in a pack would read as the pack.
      return range && bytes.length > range.length ? bytes.subarray(0, range.length) : bytes;
    } catch (err) {
      if (await isMissingObject(this.s3, this.bucketName, key, err)) return undefined;
      // A range wholly past the end of the object: it is shorter than the row says.
      if (isInvalidRange(err)) return Buffer.alloc(0);
      throw err;
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucketName, Key: key }));
      return out.ContentLength;
    } catch (err) {
      if (await isMissingObject(this.s3, this.bucketName, key, err)) return undefined;
      throw err;
    }
  }

  async copy(fromKey: string, toKey: string, ifMatch?: string): Promise<void> {
    await this.s3.send(new CopyObjectCommand({ Bucket: this.bucketName, Key: toKey, CopySource: `${this.bucketName}/${fromKey}`, CopySourceIfMatch: ifMatch }));
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucketName, Key: key }));
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    let token: string | undefined;
    do {
      const out: ListObjectsV2CommandOutput = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucketName, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) yield { key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  private async noncurrentVersions(key: string): Promise<ObjectVersion[]> {
    const found: ObjectVersion[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      let out: ListObjectVersionsCommandOutput;
      try {
        out = await this.s3.send(
          new ListObjectVersionsCommand({ Bucket: this.bucketName, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
        );
      } catch (err) {
        // An S3 without versions (s3rver: MethodNotAllowed) has none to restore from.
        if (httpStatusOf(err) === 405 || httpStatusOf(err) === 501) return [];
        throw err;
      }
      for (const v of out.Versions ?? []) {
        // The prefix also lists longer keys; the current version is the object itself.
        if (v.Key === key && !v.IsLatest && v.VersionId) {
          found.push({ versionId: v.VersionId, size: v.Size ?? 0, lastModified: v.LastModified ?? new Date(0) });
        }
      }
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      versionIdMarker = out.IsTruncated ? out.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return found.sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime());
  }

  /**
   * A URL that lets its holder GET the object, signed with this function's own credentials
   * (so it needs s3:GetObject, and never outlives a temporary session).
   */
  async presignedGetUrl(key: string, ttlSeconds: number): Promise<string> {
    const expiresIn = await signingLifetime(this.presigner, ttlSeconds);
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucketName, Key: key }), { expiresIn });
  }

  async presignedRangeUrl(
    key: string,
    range: { offset: number; length: number },
    ttlSeconds: number,
  ): Promise<{ url: string; headers: Record<string, string> }> {
    const Range = `bytes=${range.offset}-${range.offset + range.length - 1}`;
    // `range` is signed (S3 then refuses the URL with any other Range, or none): named
    // explicitly so no presigner default can ever hoist or drop it.
    const url = await getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucketName, Key: key, Range }), {
      expiresIn: ttlSeconds,
      signableHeaders: new Set(['range']),
    });
    return { url, headers: { range: Range } };
  }

  signingExpiration(): Promise<Date | undefined> {
    return signingExpiration(this.presigner);
  }
}
