import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.js';
import { DYNAMODB_REQUEST_TIMEOUT_MS } from '../limits.js';
import { tracerFor } from '../telemetry.js';

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
 * - One SigV4 signer per auth scheme for the client's life (`reuseSigners`). The SDK's signer
 *   factory runs on every request and builds a new signer from a copy of the whole client
 *   config, an object V8 keeps in slow dictionary mode (tens of µs per copy); every signer it
 *   makes is alike (region and service are fixed after the first request, the credentials are
 *   the same refreshing provider, asked on every signature), so requests and signatures are
 *   unchanged. About 9% of the SDK's own CPU per call (docs/benchmarks.md).
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
    reuseSigners(client.config);
  }
  tracerFor(config.telemetry)?.captureAWSv3Client(client);
  return client;
}

export function dynamoClientFor(config: Config): DynamoDBClient {
  const client = new DynamoDBClient({
    ...clientTarget(config, config.endpoints.dynamodb),
    // Bounds how late a retried row write can land (REMOVE_OBJECT_MIN_AGE_MS relies on it).
    requestHandler: { requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS },
    cacheMiddleware: !config.sdkDefaults,
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
