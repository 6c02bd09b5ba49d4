import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.js';
import { type AwsCallBounds, DYNAMODB_CALL_BOUNDS, S3_CALL_BOUNDS } from '../limits.js';
import { tracerFor } from '../telemetry.js';

/**
 * The AWS SDK clients, configured once for the cloud, LocalStack and the embedded emulators
 * alike. Every request's CPU is billed Lambda time, so per-request work we do not need is cut
 * (`npm run bench` measures server CPU per blob with and without it; `sdkDefaults` turns it off):
 *
 * - PutObject is signed with `UNSIGNED-PAYLOAD` instead of a SHA-256 of the whole body (a
 *   pass over up to a 4 MiB pack per request). S3 still checks the body: every write carries
 *   the CRC32 of the verified bytes (checksums.ts), which S3 verifies before storing, at about
 *   half the SHA-256's cost. The signature covers the method, key, headers (the checksum,
 *   If-None-Match, Content-Length) and time. Reads through the functions check the digest
 *   again; redirected and located reads (presigned URLs) are verified by the clients only.
 * - One SigV4 signer per auth scheme for the client's life (`reuseSigners`). The SDK's signer
 *   factory runs on every request and builds a new signer from a copy of the whole client
 *   config, an object V8 keeps in slow dictionary mode (tens of µs per copy); every signer it
 *   makes is alike (region and service are fixed after the first request, the credentials are
 *   the same refreshing provider, asked on every signature), so requests and signatures are
 *   unchanged (`npx tsx bench/sdk-overhead.ts` measures it alone).
 *
 * Not cut: the SDK's middleware cache (`cacheMiddleware`). With it, concurrent sends of one
 * command class share one execution context, whose endpoint is written per request: two
 * PutObjects to two buckets at once can both go to one of them (test/integration/
 * aws-clients.test.ts). Every send resolves its own handler.
 *
 * Every client's calls are bounded (limits.ts, AwsCallBounds): each attempt throws once its
 * time is up (the SDK's `requestTimeout` alone only logs a warning) and the attempts are
 * counted, so a call to a service that never answers fails within the function's timeout.
 *
 * Measured and not kept: building the user agent's fixed sections once (no gain measurable).
 * Seen and left alone: the SDK copies the same config three more times per request (endpoint
 * resolution, serialisation, deserialisation) inside its own middleware; cutting those means
 * replacing SDK middleware, which would not stay identical across SDK releases. The retry
 * middleware's bookkeeping (quota token, invocation-id and attempt headers) is part of the
 * requests and of the retries, so it stays.
 */

/** Region, endpoint and credentials as every client takes them; an absent endpoint or credentials means the SDK's default. */
export function clientTarget(config: Pick<Config, 'region' | 'credentials'>, endpoint: string | undefined) {
  return {
    region: config.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  };
}

/** The client settings that enforce `bounds` (limits.ts): attempts that throw when their time is up, and how many. */
export function callBounds(bounds: AwsCallBounds) {
  return {
    maxAttempts: bounds.maxAttempts,
    requestHandler: { connectionTimeout: bounds.connectTimeoutMs, requestTimeout: bounds.requestTimeoutMs, throwOnRequestTimeout: true },
  };
}

export function s3ClientFor(config: Config, endpoint = config.endpoints.s3, bounds = S3_CALL_BOUNDS): S3Client {
  const client = new S3Client({
    ...clientTarget(config, endpoint),
    ...callBounds(bounds),
    forcePathStyle: config.s3ForcePathStyle,
    // Writes carry a checksum we compute (s3-store.ts) as a header; the SDK's own would be
    // an aws-chunked trailer, which S3 emulators do not understand. Reads are digest-checked.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (!config.sdkDefaults) {
    unsignedPutPayload(client);
    reuseSigners(client.config);
  }
  tracerFor(config.telemetry)?.captureAWSv3Client(client);
  return client;
}

/** Signs PutObject with UNSIGNED-PAYLOAD (see the top of this file); exported for bench/sdk-overhead.ts. */
export function unsignedPutPayload(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (context.commandName === 'PutObjectCommand' && request?.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'unsignedPutPayload' },
  );
}

export function dynamoClientFor(config: Config, bounds = DYNAMODB_CALL_BOUNDS): DynamoDBClient {
  const client = new DynamoDBClient({
    ...clientTarget(config, config.endpoints.dynamodb),
    // Also bounds how late a row write can be sent (REMOVE_OBJECT_MIN_AGE_MS relies on it).
    ...callBounds(bounds),
  });
  if (!config.sdkDefaults) reuseSigners(client.config);
  tracerFor(config.telemetry)?.captureAWSv3Client(client);
  return client;
}

type SignerFactory = S3Client['config']['signer'];

/** Keeps the signer the SDK's factory makes for each auth scheme (see the top of this file). */
function reuseSigners(config: { signer: SignerFactory }): void {
  const make = config.signer;
  const made = new Map<string, ReturnType<SignerFactory>>();
  config.signer = (authScheme) => {
    const key = `${authScheme?.name}|${authScheme?.signingName}|${authScheme?.signingRegion}`;
    let signer = made.get(key);
    if (!signer) {
      signer = make(authScheme);
      made.set(key, signer);
      signer.catch(() => made.delete(key));
    }
    return signer;
  };
}
