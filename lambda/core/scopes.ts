import { namespaceNameProblem, type Namespace } from './namespace.js';

/**
 * What a credential may do (DESIGN §5, docs/security.md): its operations, in which namespaces.
 * No import but namespace.ts: every layer, the route table and the CDK app read it.
 *
 * - `read`: get, locate, enumerate, stat.
 * - `write`: preupload, upload (batch, signed URL, form completion), stat.
 * - `remove`: remove (where the server allows removal at all).
 * - `admin`: the /admin routes (credentials, usage); only with every namespace (`*`), since a
 *   credential that makes credentials can give itself anything.
 *
 * A grant names namespaces as a client names their roots: `/` is the root namespace, `photos`
 * the namespace at `/photos/`, and `*` every namespace, the root included.
 */
export const OPERATIONS = ['read', 'write', 'remove', 'admin'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const ALL_NAMESPACES = '*';
export const ROOT_GRANT = '/';

export interface Scope {
  /** `*`, or a list of `/` and namespace names. */
  namespaces: readonly string[];
  operations: readonly Operation[];
}

/** The owner's scope (Secrets Manager's or BLOBSERVER_AUTH's credential, or an open loopback server): everything. */
export const OWNER_SCOPE: Scope = Object.freeze({ namespaces: Object.freeze([ALL_NAMESPACES]), operations: OPERATIONS });

/** A credential as stored: never its secret, only the secret's slow hash. */
export interface CredentialRecord {
  id: string;
  label: string;
  namespaces: string[];
  operations: Operation[];
  /** Unix seconds; absent: never expires. */
  expiresAt?: number | undefined;
  createdAt: number;
  /** Unix seconds it was revoked at; absent while it is valid. */
  revokedAt?: number | undefined;
  /** `scrypt$N$r$p$<salt b64url>$<hash b64url>` (auth/credential-secrets.ts). */
  hash: string;
}

/** `cred-` and 20 hex digits: never a namespace name's shape problem, and told apart from the owner's user name. */
export const CREDENTIAL_ID = /^cred-[0-9a-f]{20}$/;

/** How a grant names the namespace. */
export function grantName(ns: Namespace): string {
  return ns.name || ROOT_GRANT;
}

export function coversNamespace(scope: Scope, ns: Namespace): boolean {
  return scope.namespaces.includes(ALL_NAMESPACES) || scope.namespaces.includes(grantName(ns));
}

/**
 * Whether `scope` allows one of `anyOf` in `ns` (an empty `anyOf`: some operation there, which
 * discovery, status and the page need). `admin` is about the whole deployment, never one namespace.
 */
export function allows(scope: Scope, anyOf: readonly Operation[], ns: Namespace): boolean {
  if (!coversNamespace(scope, ns)) return false;
  if (anyOf.length === 0) return scope.operations.length > 0;
  return anyOf.some((op) => scope.operations.includes(op));
}

/** The operations `scope` has in `ns` (what a caller learns about itself there). */
export function operationsIn(scope: Scope, ns: Namespace): Operation[] {
  return coversNamespace(scope, ns) ? OPERATIONS.filter((op) => scope.operations.includes(op)) : [];
}

/** What is wrong with a requested scope, or undefined: every name valid, known operations, admin only over `*`. */
export function scopeProblem(namespaces: readonly string[], operations: readonly string[]): string | undefined {
  if (namespaces.length === 0) return 'namespaces: name at least one (`/` is the root namespace, `*` every namespace)';
  for (const n of namespaces) {
    if (n === ALL_NAMESPACES || n === ROOT_GRANT) continue;
    const problem = namespaceNameProblem(n);
    if (problem) return `namespaces: ${problem} (\`/\` is the root namespace, \`*\` every namespace)`;
  }
  if (operations.length === 0) return `operations: name at least one of ${OPERATIONS.join(', ')}`;
  const unknown = operations.find((op) => !(OPERATIONS as readonly string[]).includes(op));
  if (unknown !== undefined) return `operations: ${JSON.stringify(unknown.slice(0, 40))} is not one of ${OPERATIONS.join(', ')}`;
  if (operations.includes('admin') && !(namespaces.length === 1 && namespaces[0] === ALL_NAMESPACES)) {
    return 'operations: admin is over every namespace: give it with namespaces `*` alone';
  }
  return undefined;
}

/** Why a stored credential is not usable at `nowSeconds`, or undefined while it is. */
export function credentialUnusable(record: CredentialRecord, nowSeconds: number): 'revoked' | 'expired' | undefined {
  if (record.revokedAt !== undefined) return 'revoked';
  if (record.expiresAt !== undefined && record.expiresAt <= nowSeconds) return 'expired';
  return undefined;
}
