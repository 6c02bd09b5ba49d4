/** Protocol and platform limits, in one place so handlers, the local server and CDK agree. */

/** Largest single blob Perkeep accepts: our default cap (BLOBSERVER_MAX_BLOB_SIZE). */
export const MAX_BLOB_SIZE = 16 << 20;

/**
 * The highest BLOBSERVER_MAX_BLOB_SIZE allowed: what one upload completion (the staged object
 * streamed from S3 through the digest, a server-side copy, the row) verifies well inside API
 * Gateway's 29 s. From `npm run bench` (table 7): 23-177 MB/s on a busy 2-core VM, so
 * 256 MiB takes 1.5-11 s, 3 s typically; the rest of the 29 s is margin for the cloud's slower
 * S3 stream and separate copy. docs/large-blobs.md has the figures.
 */
export const MAX_ALLOWED_BLOB_SIZE = 256 << 20;

/** Most blobrefs a preupload/stat/remove request may name. */
export const MAX_REFS_PER_REQUEST = 1000;

/** API Gateway HTTP APIs give up on an integration after 30 s; the functions finish (or fail) before that. */
export const FUNCTION_TIMEOUT_SECONDS = 29;

/**
 * Most parts one upload request may carry. Every part costs an object write and an index
 * write however small it is, so this, not the body size, bounds how long a request can run:
 * the worst accepted request must finish well inside the function timeout (bench/run.ts
 * measures it). Perkeep's client sends one blob per request.
 */
export const MAX_PARTS_PER_REQUEST = 1000;

/** Lambda's synchronous invocation payload cap, which bounds the whole API Gateway event. */
export const LAMBDA_EVENT_LIMIT = 6 * 1024 * 1024;

/** Lambda's cap on a buffered (non-streamed) response, which API Gateway relays. */
export const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;

/**
 * Binary bodies cross Lambda base64-encoded (4/3 larger) inside a JSON payload capped at 6 MB,
 * in both directions. This is the raw size that could just fit, with nothing else in the
 * payload; nothing larger can ever pass.
 */
export const MAX_RAW_BODY_IN_LAMBDA_PAYLOAD = Math.floor((LAMBDA_EVENT_LIMIT * 3) / 4);

/** What we let a raw body use of that: room is left for headers and the event's other fields. */
const LAMBDA_BODY_BUDGET = 4_400_000;

/** Default largest upload request body. */
export const DEFAULT_MAX_UPLOAD_SIZE = LAMBDA_BODY_BUDGET;

/**
 * Why `maxUploadSize` cannot be used, or undefined when it can: the one bound the stack's
 * `maxUploadSize` context and the local server's BLOBSERVER_MAX_UPLOAD_SIZE both obey, so
 * the local server never accepts what a deployment would refuse.
 */
export function maxUploadSizeProblem(maxUploadSize: number): string | undefined {
  return maxUploadSize > MAX_RAW_BODY_IN_LAMBDA_PAYLOAD
    ? `${maxUploadSize} cannot pass through a 6 MB Lambda event (at most ${MAX_RAW_BODY_IN_LAMBDA_PAYLOAD})`
    : undefined;
}

export const DEFAULT_UPLOAD_URL_TTL_SECONDS = 7200;

/**
 * The slowest upload we support for the large-blob lane's form POST: 32 KiB/s (256 kbit/s, a
 * poor mobile uplink). S3 checks the form's expiry when the POST arrives, then takes the body
 * at whatever rate the client sends it, so a POST started just before the form expires may
 * still be arriving long after; the completion URL stays valid for that long beyond the form.
 */
export const SLOWEST_FORM_UPLOAD_BYTES_PER_SECOND = 32 << 10;
/** Time for the client to follow S3's 303 once the body is stored (retries, a slow redirect). */
export const COMPLETION_FOLLOW_MARGIN_SECONDS = 300;

/**
 * How long a completion URL outlives its form (BLOBSERVER_COMPLETION_GRACE_SECONDS overrides):
 * the largest POST at the slowest rate, plus the follow margin. 16 MiB: 812 s; 256 MiB: 8492 s.
 */
export function defaultCompletionGraceSeconds(maxBlobSize: number): number {
  return Math.ceil(maxBlobSize / SLOWEST_FORM_UPLOAD_BYTES_PER_SECOND) + COMPLETION_FOLLOW_MARGIN_SECONDS;
}

/** Largest blob a GET answers inline; bigger ones are redirected to a presigned S3 URL. */
export const MAX_INLINE_BLOB_SIZE = LAMBDA_BODY_BUDGET;

/** Lifetime of the presigned S3 URL a large GET redirects to: it only has to outlive the redirect. */
export const PRESIGNED_GET_TTL_SECONDS = 300;

/** enumerate-blobs page sizes (Perkeep's defaults): `limit` defaults to 100, larger values are clamped. */
export const DEFAULT_ENUMERATE_LIMIT = 100;
export const MAX_ENUMERATE_LIMIT = 10_000;

/**
 * Blobs up to this size are packed with the other small blobs of their request (one object);
 * larger ones get an object each. 1 MiB: a 64 KiB-chunked file (Perkeep's chunks are at most
 * 1 MiB) packs whole, while a blob big enough to be worth a presigned redirect, or a ranged
 * re-read, keeps its own object. Never above the inline GET limit, since a packed blob can only
 * be served inline (a presigned URL would expose the whole pack).
 */
export const PACK_THRESHOLD = 1 << 20;

/** A row write is never sent later than this after the row's `storedAt` (BlobIndex.put). */
export const ROW_WRITE_WINDOW_MS = 60_000;

/**
 * How long one AWS SDK call may take (aws-clients.ts applies these to every client). Each
 * attempt fails with a TimeoutError when no answer's headers arrived within `requestTimeoutMs`
 * of its start (connecting, sending the body and waiting included; `throwOnRequestTimeout`,
 * without which the SDK only logs a warning), or when a connection is not made within
 * `connectTimeoutMs`. The SDK makes at most `maxAttempts` attempts, so a call that gets no
 * answer fails within `worstCaseCallMs(bounds)`, inside the function's 29 s (a unit test
 * checks each). Reading an answer's body (a large blob streamed through the digest) is bounded
 * by the function's timeout, not by these.
 */
export interface AwsCallBounds {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxAttempts: number;
}

/** DynamoDB answers in milliseconds; a row write or read that takes seconds is not coming. */
export const DYNAMODB_CALL_BOUNDS: AwsCallBounds = { connectTimeoutMs: 2_000, requestTimeoutMs: 4_000, maxAttempts: 3 };
/** S3: room for a 4 MiB pack's PUT, and a large blob's server-side copy before S3 answers. */
export const S3_CALL_BOUNDS: AwsCallBounds = { connectTimeoutMs: 2_000, requestTimeoutMs: 7_000, maxAttempts: 3 };
/** Secrets Manager: read once per cold start (and on rotation), small answers. */
export const SECRETS_MANAGER_CALL_BOUNDS: AwsCallBounds = { connectTimeoutMs: 2_000, requestTimeoutMs: 4_000, maxAttempts: 3 };

/**
 * The SDK's retry delays (its standard strategy, @smithy/core util-retry): before retry i
 * (from 0) at most min(base x 2^i, 20 s), base 50 ms, 1 s after a throttle; we send nothing
 * that carries a Retry-After hint. The throttle base is the larger, so it bounds both.
 */
const SDK_THROTTLE_RETRY_BASE_MS = 1_000;

/** The longest one call can take when no attempt is answered, or each is throttled. */
export function worstCaseCallMs(bounds: AwsCallBounds): number {
  let delays = 0;
  for (let i = 0; i < bounds.maxAttempts - 1; i++) delays += Math.min(SDK_THROTTLE_RETRY_BASE_MS * 2 ** i, 20_000);
  return bounds.maxAttempts * bounds.requestTimeoutMs + delays;
}

/**
 * The row-creation lock of a namespace (storage/creation-lock.ts, rule 6 of blob-storage.ts).
 * Its holder sends no write later than HOLD after it took the lock; each send ends within
 * worstCaseCallMs(DYNAMODB_CALL_BOUNDS) (15 s); the lock's item expires TTL after it was taken,
 * which adds 10 s for clock skew between holders and for DynamoDB applying a write after its
 * client gave up. So no write of an expired holder can land under the next one. A lock held
 * longer than WAIT by another writer (a crashed one) makes the rows wait: reported not
 * stored, retry later. A lock that is broken anyway (see DynamoCreationLock) costs exactness
 * of the usage counter (high until fsck recounts), never a blob.
 */
export const CREATION_LOCK_HOLD_MS = 5_000;
export const CREATION_LOCK_TTL_MS = 30_000;
export const CREATION_LOCK_WAIT_MS = 10_000;

/**
 * A removed blob's own object is deleted right away only when its row is older than this,
 * so no retried write of that row can still land after the delete (the window plus one
 * DynamoDB call, worstCaseCallMs(DYNAMODB_CALL_BOUNDS), is 75 s; the rest is room for clock
 * skew and for DynamoDB applying a write after its client gave up). Younger ones go to fsck.
 */
export const REMOVE_OBJECT_MIN_AGE_MS = 10 * 60_000;

/** fsck reclaims an unreferenced object only when it is older than this (uploads in flight). */
export const DEFAULT_FSCK_GRACE_MS = 60 * 60_000;
/**
 * An fsck run's scratch objects (fsck-runs/<run>/) older than this belong to a run that died:
 * no run lasts a day (a 100M-blob store is audited in hours), so the final piece of every run
 * reports them and, repairing, deletes them (s3rver has no lifecycle rule; in the cloud the
 * bucket's rule expires them after 2 days too).
 */
export const FSCK_SCRATCH_MAX_AGE_MS = 24 * 3600_000;

/** Secrets are read once per cold start and then from cache, refreshed after this many seconds. */
export const SECRET_CACHE_SECONDS = 300;

/** The same strength as the key CDK generates at deploy time (64 characters, no punctuation). */
export const SIGNING_KEY_MIN_LENGTH = 64;

/**
 * Days a deleted object stays recoverable as a noncurrent version of the versioned bucket (the
 * stack's recoveryWindowDays default; the local server's bucket on LocalStack). fsck --repair restores from it.
 */
export const DEFAULT_RECOVERY_WINDOW_DAYS = 30;

/**
 * The revocation bound (docs/security.md): a revoked credential, and every upload or completion
 * URL it minted, is refused by every warm function at most this many seconds after the revoke
 * returned. It is the lifetime of a cached credential row (auth/credential-cache.ts).
 */
export const REVOCATION_BOUND_SECONDS = 60;
