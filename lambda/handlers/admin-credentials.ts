import type { RouteHandler } from '../core/routing/authorise.js';
import type { Deps } from '../core/deps.js';
import { hashSecret, newCredentialId, newCredentialSecret } from '../core/auth/credential-secrets.js';
import { REFUSE } from '../core/http/errors.js';
import { bodyBytes, json } from '../core/http/http.js';
import { CREDENTIAL_ID, scopeProblem, type CredentialRecord, type Operation } from '../core/scopes.js';

/**
 * The admin API for credentials (docs/security.md), admin only (the route table says so):
 * list, add (the secret is in the answer, once, and stored nowhere), revoke.
 */

const iso = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString());

/** A credential as the API shows it: never its secret or hash. */
export function shownCredential(r: CredentialRecord) {
  return {
    id: r.id,
    label: r.label,
    namespaces: r.namespaces,
    operations: r.operations,
    createdAt: iso(r.createdAt),
    ...(r.expiresAt !== undefined ? { expiresAt: iso(r.expiresAt) } : {}),
    ...(r.revokedAt !== undefined ? { revokedAt: iso(r.revokedAt) } : {}),
  };
}

/** GET /admin/credentials: every credential, by id. */
export function listCredentialsHandler(deps: Deps): RouteHandler<'basic'> {
  return async () => {
    const all = await deps.credentialRows.list();
    return json(200, { credentials: all.sort((a, b) => a.id.localeCompare(b.id)).map(shownCredential) });
  };
}

const MAX_LABEL = 200;
const MAX_BODY = 16 * 1024;

interface AddRequest {
  label: string;
  namespaces: string[];
  operations: Operation[];
  expiresAt?: number | undefined;
}

/** The request body `{label, namespaces, operations, expiresAt?}` (expiresAt: an RFC 3339 time in the future), or a 400 saying what is wrong. */
function addRequestOf(raw: Buffer, nowSeconds: number): AddRequest {
  if (raw.length > MAX_BODY) throw REFUSE.invalidCredentialRequest(`the request body is over ${MAX_BODY} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw REFUSE.invalidCredentialRequest('expected a JSON body {"label", "namespaces", "operations", "expiresAt"?}');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw REFUSE.invalidCredentialRequest('expected a JSON object');
  const { label, namespaces, operations, expiresAt } = body as Record<string, unknown>;
  if (typeof label !== 'string' || label.trim() === '' || label.length > MAX_LABEL || [...label].some((c) => c.charCodeAt(0) < 0x20)) {
    throw REFUSE.invalidCredentialRequest(`label: a string of 1 to ${MAX_LABEL} printable characters`);
  }
  const strings = (v: unknown) => Array.isArray(v) && v.length <= 100 && v.every((e) => typeof e === 'string');
  if (!strings(namespaces)) throw REFUSE.invalidCredentialRequest('namespaces: a list of names (`/` the root namespace, `*` every namespace)');
  if (!strings(operations)) throw REFUSE.invalidCredentialRequest('operations: a list of read, write, remove, admin');
  const ns = [...new Set(namespaces as string[])];
  const ops = [...new Set(operations as string[])];
  const problem = scopeProblem(ns, ops);
  if (problem) throw REFUSE.invalidCredentialRequest(problem);
  let expires: number | undefined;
  if (expiresAt !== undefined) {
    const ms = typeof expiresAt === 'string' && /^\d{4}-\d\d-\d\dT/.test(expiresAt) ? Date.parse(expiresAt) : Number.NaN;
    if (!Number.isFinite(ms)) throw REFUSE.invalidCredentialRequest('expiresAt: an RFC 3339 time such as 2027-01-31T00:00:00Z');
    expires = Math.floor(ms / 1000);
    if (expires <= nowSeconds) throw REFUSE.invalidCredentialRequest('expiresAt is not in the future');
  }
  return { label, namespaces: ns, operations: ops as Operation[], expiresAt: expires };
}

/** POST /admin/credentials: a new credential; 201 with its secret and `auth` (`userpass:ID:SECRET`), shown this once. */
export function addCredentialHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    const now = Math.floor(deps.nowSeconds());
    const request = addRequestOf(bodyBytes(event), now);
    const secret = newCredentialSecret();
    const record: CredentialRecord = { id: newCredentialId(), ...request, createdAt: now, hash: await hashSecret(secret) };
    // 80 random bits of id: a clash is not expected, and a conditional write makes sure it overwrites nothing.
    if (!(await deps.credentialRows.add(record))) throw new Error('a new credential id was taken');
    return json(201, { ...shownCredential(record), secret, auth: `userpass:${record.id}:${secret}` });
  };
}

/** POST /admin/credentials/{id}/revoke: revoked for good; every function refuses it, and the URLs it minted, within the revocation bound. */
export function revokeCredentialHandler(deps: Deps): RouteHandler<'basic'> {
  return async (event) => {
    const id = event.pathParameters?.['id'] ?? '';
    if (!CREDENTIAL_ID.test(id)) throw REFUSE.credentialNotFound(id);
    const revoked = await deps.credentialRows.revoke(id, deps.nowSeconds());
    if (!revoked) throw REFUSE.credentialNotFound(id);
    deps.callers.forget(id);
    return json(200, shownCredential(revoked));
  };
}
