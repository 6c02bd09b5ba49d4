import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isAccessDenied, isNotFound } from './aws-errors.js';

/**
 * Whether a GET or HEAD of `key` failed because the key does not exist. S3 answers a missing
 * key 404 only when the caller may also s3:ListBucket there, else 403; whether an `s3:prefix`
 * condition on that grant (each side is granted ListBucket per prefix) counts for a read's
 * implicit check, AWS does not document. So a 403 is settled with the request the grant
 * certainly covers: ListObjectsV2 with Prefix = the key, MaxKeys = 1 (the key itself, if it
 * exists, sorts first among the keys it prefixes). A key that is listed was really denied
 * (false: the caller rethrows its error); a listing that is itself denied throws.
 */
export async function isMissingObject(s3: S3Client, bucket: string, key: string, err: unknown): Promise<boolean> {
  if (isNotFound(err)) return true;
  if (!isAccessDenied(err)) return false;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return listed.Contents?.[0]?.Key !== key;
}
