/** Protocol and platform limits, in one place so handlers, the local server and CDK agree. */

/** Largest single blob Perkeep accepts (and so do we). */
export const MAX_BLOB_SIZE = 16 << 20;

/** Most blobrefs a preupload/stat/remove request may name. */
export const MAX_REFS_PER_REQUEST = 1000;

/** Lambda's synchronous invocation payload cap, which bounds the whole API Gateway event. */
export const LAMBDA_EVENT_LIMIT = 6 * 1024 * 1024;

/** Lambda's cap on a buffered (non-streamed) response, which API Gateway relays. */
export const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;

/**
 * Default largest upload body. Binary bodies reach Lambda base64-encoded (4/3 larger) inside
 * a JSON event with headers, so the raw body must stay well under 6 MB * 3/4 = 4.7 MB.
 */
export const DEFAULT_MAX_UPLOAD_SIZE = 4_400_000;

export const DEFAULT_UPLOAD_URL_TTL_SECONDS = 7200;

/**
 * Largest blob a GET answers inline. A buffered Lambda response is capped at 6 MB and the
 * bytes travel base64-encoded (4/3 larger) inside JSON with headers, so anything bigger is
 * answered with a redirect to a presigned S3 URL instead.
 */
export const MAX_INLINE_BLOB_SIZE = 4_400_000;

/** Lifetime of the presigned S3 URL a large GET redirects to: it only has to outlive the redirect. */
export const PRESIGNED_GET_TTL_SECONDS = 300;

/** enumerate-blobs page sizes (Perkeep's defaults): `limit` defaults to 100, larger values are clamped. */
export const DEFAULT_ENUMERATE_LIMIT = 100;
export const MAX_ENUMERATE_LIMIT = 10_000;
