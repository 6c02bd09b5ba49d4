/** Protocol and platform limits, in one place so handlers, the local server and CDK agree. */

/** Largest single blob Perkeep accepts: our default cap (BLOBSERVER_MAX_BLOB_SIZE). */
export const MAX_BLOB_SIZE = 16 << 20;

/**
 * The highest BLOBSERVER_MAX_BLOB_SIZE allowed: what one completion (S3 GET streamed through
 * the digest, then a server-side copy) can verify well inside API Gateway's 29 s. Set from
 * `npm run bench` (completion throughput; see README "Large blobs").
 */
export const MAX_ALLOWED_BLOB_SIZE = 256 << 20;

/** Most blobrefs a preupload/stat/remove request may name. */
export const MAX_REFS_PER_REQUEST = 1000;

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

export const DEFAULT_UPLOAD_URL_TTL_SECONDS = 7200;

/** Largest blob a GET answers inline; bigger ones are redirected to a presigned S3 URL. */
export const MAX_INLINE_BLOB_SIZE = LAMBDA_BODY_BUDGET;

/** Lifetime of the presigned S3 URL a large GET redirects to: it only has to outlive the redirect. */
export const PRESIGNED_GET_TTL_SECONDS = 300;

/** enumerate-blobs page sizes (Perkeep's defaults): `limit` defaults to 100, larger values are clamped. */
export const DEFAULT_ENUMERATE_LIMIT = 100;
export const MAX_ENUMERATE_LIMIT = 10_000;
