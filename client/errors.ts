/** What the client was doing when it failed, for `BlobServerError.operation`. */
export type Operation = 'preupload' | 'stat' | 'upload' | 'upload-form' | 'get' | 'enumerate' | 'remove' | 'locate' | 'config' | 'admin';

/**
 * A failure the caller can act on: which operation, against which URL, the HTTP status (when
 * the server answered), the server's `errorText`, and the blobs concerned.
 */
export class BlobServerError extends Error {
  readonly operation: Operation;
  readonly status?: number | undefined;
  readonly url?: string | undefined;
  readonly blobRefs?: readonly string[] | undefined;
  /** Whether retrying the same request later may succeed (network errors, 5xx, 429). */
  readonly retryable: boolean;

  constructor(
    message: string,
    details: {
      operation: Operation;
      status?: number | undefined;
      url?: string | undefined;
      blobRefs?: readonly string[] | undefined;
      retryable?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'BlobServerError';
    this.operation = details.operation;
    this.status = details.status;
    this.url = details.url;
    this.blobRefs = details.blobRefs;
    this.retryable = details.retryable ?? false;
  }
}

/** The `errorText` of a JSON error answer, else the start of the body. */
export function describeBody(text: string): string {
  try {
    const v = JSON.parse(text) as { errorText?: unknown };
    if (typeof v?.errorText === 'string') return v.errorText;
  } catch {
    // not JSON
  }
  return text.slice(0, 200).trim();
}
