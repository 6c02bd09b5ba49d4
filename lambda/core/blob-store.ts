import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** Blob bytes in S3, one object per blob under a fixed prefix (staging uploads will use another). */
export const BLOB_PREFIX = 'blobs/';

export function blobKey(ref: string): string {
  return `${BLOB_PREFIX}${ref}`;
}

/** Whether an S3 error means the object (or bucket) is not there. */
export function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

export class BlobStore {
  constructor(
    readonly s3: S3Client,
    readonly bucketName: string,
    /** Signs URLs handed to clients; differs from `s3` only where clients reach S3 by another address. */
    private readonly presigner: S3Client = s3,
  ) {}

  async put(ref: string, bytes: Buffer): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketName,
        Key: blobKey(ref),
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: 'application/octet-stream',
      }),
    );
  }

  /** The stored object's size, or undefined if there is none. */
  async size(ref: string): Promise<number | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucketName, Key: blobKey(ref) }));
      return out.ContentLength;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async get(ref: string): Promise<Buffer | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketName, Key: blobKey(ref) }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * A URL that lets its holder GET the blob's object, signed with this function's own
   * credentials (so it needs s3:GetObject, and never outlives a temporary session).
   */
  async presignedGetUrl(ref: string, ttlSeconds: number): Promise<string> {
    return getSignedUrl(
      this.presigner,
      new GetObjectCommand({ Bucket: this.bucketName, Key: blobKey(ref) }),
      { expiresIn: ttlSeconds },
    );
  }

  async delete(ref: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucketName, Key: blobKey(ref) }));
  }
}
