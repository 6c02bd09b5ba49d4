import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';

/**
 * The "folders" directly under `prefix` (`packs/2026-01-02/`, ...): a delimited listing, one
 * request per 1000 folders however many objects they hold. fsck plans its pack partitions with it.
 */
export async function* s3Folders(s3: S3Client, bucket: string, prefix: string): AsyncIterable<string> {
  let token: string | undefined;
  do {
    const out: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
    );
    for (const p of out.CommonPrefixes ?? []) if (p.Prefix) yield p.Prefix;
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
}
