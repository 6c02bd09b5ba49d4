import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.js';
import { DYNAMODB_REQUEST_TIMEOUT_MS } from './limits.js';

/** The AWS SDK clients, configured once for the cloud, LocalStack and the embedded emulators alike. */

export function s3ClientFor(config: Config, endpoint = config.endpoints.s3): S3Client {
  return new S3Client({
    region: config.region,
    endpoint,
    forcePathStyle: config.s3ForcePathStyle,
    credentials: config.credentials,
    // We verify every blob's digest ourselves; SDK-side flexible checksums (aws-chunked
    // trailers) add nothing and are not understood by S3 emulators.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function dynamoClientFor(config: Config): DynamoDBClient {
  return new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoints.dynamodb,
    credentials: config.credentials,
    // Bounds how late a retried row write can land (REMOVE_OBJECT_MIN_AGE_MS relies on it).
    requestHandler: { requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS },
  });
}
