import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost, type PresignedPost } from '@aws-sdk/s3-presigned-post';
import { isMissingObject } from '../aws/object-absence.js';
import { signingLifetime } from '../aws/signing-lifetime.js';

/**
 * Where clients upload large blobs straight to S3 (DESIGN §6): one unverified object per
 * browser-style POST, under `staging/<unique>/`. Nothing here is ever served; the completion
 * endpoint reads an object through its digest, has the storage model adopt it under `blobs/`
 * (a server-side copy) or deletes it, and a lifecycle rule expires whatever is abandoned.
 */

export interface StagedObject {
  size: number;
  /** Names this version of the object: a copy made on it fails if the key was overwritten since. */
  etag?: string | undefined;
  body: Readable;
}

export interface FormRequest {
  /** `staging/<unique>/`: the only keys the form may write, the filename (blobref) appended by S3. */
  prefix: string;
  maxSize: number;
  /** Where S3 sends the client (303) once the object is stored. */
  redirect: string;
  expiresInSeconds: number;
}

export class StagingArea {
  constructor(
    private readonly s3: S3Client,
    readonly bucketName: string,
    /** Signs forms for clients; differs from `s3` only where clients reach S3 by another address. */
    private readonly presigner: S3Client = s3,
  ) {}

  /**
   * A presigned POST (signed with this function's credentials, so it needs s3:PutObject on
   * staging/*): the policy pins the bucket, the key prefix, the redirect and the size range.
   */
  async form({ prefix, maxSize, redirect, expiresInSeconds }: FormRequest): Promise<PresignedPost> {
    return createPresignedPost(this.presigner, {
      Bucket: this.bucketName,
      Key: `${prefix}\${filename}`,
      Conditions: [['content-length-range', 0, maxSize]],
      Fields: { success_action_redirect: redirect },
      Expires: expiresInSeconds,
    });
  }

  /** How long a form signed now may promise, at most `wantedSeconds` (signing-lifetime.ts). */
  formLifetime(wantedSeconds: number, nowMs?: number): Promise<number> {
    return signingLifetime(this.presigner, wantedSeconds, nowMs);
  }

  /** The staged object as a stream, or undefined when there is none. */
  async open(key: string): Promise<StagedObject | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketName, Key: key }));
      return { size: out.ContentLength ?? 0, etag: out.ETag, body: out.Body as Readable };
    } catch (err) {
      if (await isMissingObject(this.s3, this.bucketName, key, err)) return undefined;
      throw err;
    }
  }

  /** Deleting a key that is already gone succeeds (S3 semantics), so replays are harmless. */
  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucketName, Key: key }));
  }
}
