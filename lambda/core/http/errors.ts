/**
 * The refusals this server answers, in one catalogue (after tusd's error.go): each has a stable
 * `code` clients and logs can match on, and the `errorText` clients have always been shown.
 * Handlers throw them; the router answers `{"errorText": ..., "code": ...}` with the status.
 */

export type ErrorCode =
  | 'authentication_required'
  | 'invalid_credentials'
  | 'permission_missing'
  | 'invalid_credential_request'
  | 'credential_not_found'
  | 'upload_url_missing'
  | 'upload_url_invalid'
  | 'completion_url_missing'
  | 'completion_url_invalid'
  | 'invalid_blobref'
  | 'blob_not_found'
  | 'range_not_satisfiable'
  | 'form_expected'
  | 'camliversion_required'
  | 'too_many_blobs'
  | 'request_too_large'
  | 'multipart_expected'
  | 'too_many_parts'
  | 'invalid_forwarded_proto'
  | 'invalid_host'
  | 'invalid_after'
  | 'invalid_limit'
  | 'removal_disabled'
  | 'quota_exceeded'
  | 'invalid_quota'
  | 'no_such_endpoint'
  | 'invalid_namespace'
  | 'ui_not_built'
  | 'internal_error';

/** A refusal with a status, a stable code and a message for the client; `cause` is for logs only. */
export class HttpError extends Error {
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.headers = options.headers ?? {};
  }

  /** The JSON body clients get. */
  toJSON(): { errorText: string; code: ErrorCode } {
    return { errorText: this.message, code: this.code };
  }
}

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="camlistore"' };
const quoted = (s: string, max: number) => JSON.stringify(s.slice(0, max));
/** How an answer names a refused token (auth/tokens.ts's `tokenProblem`). */
export type TokenProblem = 'malformed' | 'not valid' | 'expired';

/** Every refusal, by what went wrong. */
export const REFUSE = {
  authenticationRequired: () => new HttpError(401, 'authentication_required', 'authentication required (HTTP Basic)', { headers: BASIC_CHALLENGE }),
  invalidCredentials: () => new HttpError(401, 'invalid_credentials', 'invalid credentials', { headers: BASIC_CHALLENGE }),
  /** A stored credential refused: an unknown id or a wrong secret look alike; revoked and expired are said (only to whoever knows the secret). */
  credentialRefused: (id: string, reason: 'unknown' | 'wrong secret' | 'revoked' | 'expired') =>
    reason === 'revoked' || reason === 'expired'
      ? new HttpError(401, 'invalid_credentials', `credential ${id} is ${reason}`, { headers: BASIC_CHALLENGE })
      : new HttpError(401, 'invalid_credentials', 'invalid credentials', { headers: BASIC_CHALLENGE }),
  /** The caller's credential lacks what the route needs; names the permission and the credential, never a secret. */
  permissionMissing: (id: string, permission: string, where: string) =>
    new HttpError(403, 'permission_missing', `credential ${id} lacks the ${permission} permission ${where}`),
  /** A signed URL whose credential was revoked, expired or lost the write permission since it was minted. */
  tokenCredentialRefused: (what: 'upload URL' | 'upload completion URL', id: string, reason: string) =>
    new HttpError(403, what === 'upload URL' ? 'upload_url_invalid' : 'completion_url_invalid', `${what} was minted for credential ${id}, which is ${reason}`),
  invalidCredentialRequest: (problem: string) => new HttpError(400, 'invalid_credential_request', problem),
  credentialNotFound: (id: string) => new HttpError(404, 'credential_not_found', `no credential ${JSON.stringify(id.slice(0, 80))}`),
  uploadUrlMissing: () => new HttpError(403, 'upload_url_missing', 'upload URL token missing'),
  uploadUrlInvalid: (why: TokenProblem) => new HttpError(403, 'upload_url_invalid', `upload URL is ${why}; ask /camli/preupload for a new one`),
  completionUrlMissing: () => new HttpError(403, 'completion_url_missing', 'completion token missing'),
  completionUrlInvalid: (why: TokenProblem) =>
    new HttpError(403, 'completion_url_invalid', `upload completion URL is ${why}; ask /camli/preupload for a new uploadForm`),
  invalidBlobRef: (raw: string, field?: string) =>
    new HttpError(400, 'invalid_blobref', `${field ? `${field} is ` : ''}not a valid blobref: ${quoted(raw, 100)}`),
  blobNotFound: (ref: string) => new HttpError(404, 'blob_not_found', `blob ${ref} not found`),
  rangeNotSatisfiable: (ref: string, size: number, headers: Record<string, string>) =>
    new HttpError(416, 'range_not_satisfiable', `range not satisfiable: blob ${ref} has ${size} bytes`, { headers }),
  formExpected: (type: string) => new HttpError(400, 'form_expected', `expected an application/x-www-form-urlencoded body, got ${type}`),
  camliversionRequired: () => new HttpError(400, 'camliversion_required', 'camliversion=1 is required'),
  tooManyBlobs: (max: number) => new HttpError(400, 'too_many_blobs', `too many blobs: at most ${max} per request`),
  requestTooLarge: (bytes: number, max: number) => new HttpError(413, 'request_too_large', `request body of ${bytes} bytes exceeds maxUploadSize ${max}`),
  multipartExpected: () => new HttpError(400, 'multipart_expected', 'expected a multipart/form-data body with a boundary'),
  tooManyParts: (max: number) =>
    new HttpError(400, 'too_many_parts', `too many parts: at most ${max} per upload request; nothing was stored, send the blobs in several requests`),
  invalidForwardedProto: () => new HttpError(400, 'invalid_forwarded_proto', 'X-Forwarded-Proto must be http or https'),
  invalidHost: () => new HttpError(400, 'invalid_host', 'the Host header must be a host name or IP address with an optional port'),
  invalidAfter: (max: number) => new HttpError(400, 'invalid_after', `after is longer than ${max} characters`),
  invalidLimit: (raw: string) => new HttpError(400, 'invalid_limit', `limit must be a positive integer, got ${quoted(raw, 40)}`),
  /** 507 Insufficient Storage (as Git LFS servers answer over quota): the namespace's limits leave no room; nothing was stored. */
  quotaExceeded: (text: string) => new HttpError(507, 'quota_exceeded', text),
  invalidQuota: (problem: string) => new HttpError(400, 'invalid_quota', problem),
  removalDisabled: () => new HttpError(403, 'removal_disabled', 'removal is disabled on this server (BLOBSERVER_ALLOW_REMOVE)'),
  invalidNamespace: (problem: string) => new HttpError(400, 'invalid_namespace', problem),
  noSuchEndpoint: (routeKey: string) => new HttpError(404, 'no_such_endpoint', `no such endpoint: ${routeKey}`),
  uiNotBuilt: () => new HttpError(404, 'ui_not_built', 'this build of the server has no /ui/ page (it is built in when the read side is bundled)'),
  internal: (requestId: string | undefined, cause: unknown) =>
    new HttpError(500, 'internal_error', `internal server error (request id ${requestId})`, { cause }),
};
