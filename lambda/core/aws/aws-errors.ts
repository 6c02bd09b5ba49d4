/**
 * The one place AWS SDK errors are recognised. The SDK names its exceptions after the service's
 * error code (and emulators sometimes only get the HTTP status right), so each check looks at
 * both; callers ask what happened, never how the SDK spelled it.
 */
interface AwsErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

const shape = (err: unknown): AwsErrorShape => (err ?? {}) as AwsErrorShape;
const status = (err: unknown): number | undefined => shape(err).$metadata?.httpStatusCode;

/** S3: the object (or bucket) is not there. */
export function isNotFound(err: unknown): boolean {
  const { name } = shape(err);
  return name === 'NotFound' || name === 'NoSuchKey' || status(err) === 404;
}

/** DynamoDB, Secrets Manager: the table, secret or secret version does not exist. */
export function isResourceNotFound(err: unknown): boolean {
  return shape(err).name === 'ResourceNotFoundException';
}

/** DynamoDB: the table exists already (a CreateTable the SDK retried after its first attempt timed out, or a concurrent creator). */
export function isResourceInUse(err: unknown): boolean {
  return shape(err).name === 'ResourceInUseException';
}

/** S3: an If-None-Match / If-Match condition did not hold. */
export function isPreconditionFailed(err: unknown): boolean {
  return shape(err).name === 'PreconditionFailed' || status(err) === 412;
}

/** DynamoDB: a ConditionExpression did not hold. */
export function isConditionalCheckFailed(err: unknown): boolean {
  return shape(err).name === 'ConditionalCheckFailedException';
}

/** S3: access denied (also S3's answer for a missing object to a caller without s3:ListBucket). */
export function isAccessDenied(err: unknown): boolean {
  return shape(err).name === 'AccessDenied' || status(err) === 403;
}

/** S3: a Range that starts past the object's end. */
export function isInvalidRange(err: unknown): boolean {
  return shape(err).name === 'InvalidRange' || status(err) === 416;
}

/** S3 CreateBucket: the bucket is there already (ours, or a name taken). */
export function isBucketAlreadyExists(err: unknown): boolean {
  const name = shape(err).name;
  return name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists';
}

/** The HTTP status of an SDK error, when it came from an answer. */
export function httpStatusOf(err: unknown): number | undefined {
  return status(err);
}
