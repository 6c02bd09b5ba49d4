import type { Config } from '../lambda/core/config.js';

/**
 * What `npm start`, `npm run migrate` and `npm run fsck` say, in one line, when the machine
 * around them is not usable: a data directory they cannot write, an AWS endpoint nobody
 * answers at, no AWS credentials. Anything else is a bug and keeps its stack.
 */

type ErrnoLike = { code?: unknown; name?: unknown; message?: unknown; path?: unknown; errors?: unknown; cause?: unknown };

/** The errno code of a Node error, or of the first of an AggregateError (a connect tried on ::1 and 127.0.0.1). */
function codeOf(err: unknown): string | undefined {
  const e = err as ErrnoLike | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string') return e.code;
  if (Array.isArray(e.errors) && e.errors.length) return codeOf(e.errors[0]);
  return e.cause ? codeOf(e.cause) : undefined;
}

const DATA_DIR_WHY: Record<string, string> = {
  EROFS: 'it is on a read-only file system',
  EACCES: 'it is not writable',
  EPERM: 'it is not writable',
  EEXIST: 'a file is in the way (a directory is needed)',
  ENOTDIR: 'a file is in the way (a directory is needed)',
  ENOSPC: 'its disk is full',
  EDQUOT: 'its disk quota is used up',
};

/** A file-system failure on the data directory, as one line; undefined when `err` is not one. */
export function dataDirRefusal(dataDir: string, err: unknown): string | undefined {
  const code = codeOf(err);
  const why = code && DATA_DIR_WHY[code];
  if (!why) return undefined;
  return `cannot use the data directory ${dataDir}: ${why} (${code}); set BLOBSERVER_DATA_DIR to a writable directory`;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT']);

/** An AWS endpoint that does not answer, or no credentials for AWS, as one line; undefined when `err` is neither. */
export function awsRefusal(config: Pick<Config, 'endpoints' | 'region'>, err: unknown): string | undefined {
  const e = err as ErrnoLike;
  const name = typeof e?.name === 'string' ? e.name : '';
  const code = codeOf(err);
  const endpoint = config.endpoints.dynamodb ?? config.endpoints.s3;
  if ((code && UNREACHABLE.has(code)) || name === 'TimeoutError') {
    return endpoint
      ? `nothing answers at the AWS endpoint ${endpoint} (${code ?? name}): start it (LocalStack: localstack start), or set AWS_ENDPOINT_URL to where it listens; unset, npm start runs its own emulators`
      : `cannot reach AWS in ${config.region} (${code ?? name}): check the network, or set AWS_ENDPOINT_URL for an emulator`;
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(String(e?.message ?? ''))) {
    return 'no AWS credentials: set AWS_PROFILE (aws configure / aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ENDPOINT_URL for an emulator';
  }
  if (
    /^(UnrecognizedClientException|InvalidClientTokenId|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken(Exception)?|AccessDenied(Exception)?)$/.test(name)
  ) {
    return `AWS refused the credentials (${name}): ${String(e.message ?? '').split('\n')[0]}; check AWS_PROFILE or AWS_ACCESS_KEY_ID, and that they may use the table and bucket`;
  }
  return undefined;
}
