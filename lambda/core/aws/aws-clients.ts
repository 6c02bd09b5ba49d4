import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.js';
import { DYNAMODB_REQUEST_TIMEOUT_MS } from '../limits.js';

/**
 * The AWS SDK clients, configured once for the cloud, LocalStack and the embedded emulators
 * alike. Every request's CPU is billed Lambda time, so per-request work we do not need is cut
 * (`npm run bench` measures server CPU per blob with and without it; `sdkDefaults` turns it off):
 *
 * - `cacheMiddleware`: the SDK otherwise clones, concatenates and sorts the middleware stack
 *   on every send; we never add middleware per command, so the handler of each command class
 *   is resolved once per client.
 * - PutObject is signed with `UNSIGNED-PAYLOAD` instead of a SHA-256 of the whole body (a
 *   pass over up to a 4 MiB pack per request). That hash only protects the bytes in transit,
 *   which TLS already does in the cloud (and the emulators are on loopback); what we store was
 *   verified against its blobref before the write, and every read checks the digest again, so
 *   bytes that are not the blob are never served. The signature still covers the method, key,
 *   headers (If-None-Match, Content-Length) and time.
 */

/** Region, endpoint and credentials as every client takes them; an absent endpoint or credentials means the SDK's default. */
export function clientTarget(config: Pick<Config, 'region' | 'credentials'>, endpoint: string | undefined) {
  return {
    region: config.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  };
}

export function s3ClientFor(config: Config, endpoint = config.endpoints.s3): S3Client {
  const client = new S3Client({
    ...clientTarget(config, endpoint),
    forcePathStyle: config.s3ForcePathStyle,
    // We verify every blob's digest ourselves; SDK-side flexible checksums (aws-chunked
    // trailers) add nothing and are not understood by S3 emulators.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    cacheMiddleware: !config.sdkDefaults,
  });
  if (!config.sdkDefaults) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string> } | undefined;
        if (context.commandName === 'PutObjectCommand' && request?.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
      { step: 'build', name: 'unsignedPutPayload' },
    );
  }
  return client;
}

export function dynamoClientFor(config: Config): DynamoDBClient {
  return new DynamoDBClient({
    ...clientTarget(config, config.endpoints.dynamodb),
    // Bounds how late a retried row write can land (REMOVE_OBJECT_MIN_AGE_MS relies on it).
    requestHandler: { requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS },
    cacheMiddleware: !config.sdkDefaults,
  });
}
