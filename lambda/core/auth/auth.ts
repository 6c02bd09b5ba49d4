import { createHash, timingSafeEqual } from 'node:crypto';
import { REFUSE } from '../http/errors.js';
import { header, type HttpEvent } from '../http/http.js';
import { CREDENTIAL_ID, OWNER_SCOPE, type CredentialRecord, type Scope } from '../scopes.js';
import type { CredentialCache } from './credential-cache.js';

export interface Credentials {
  username: string;
  password: string;
}

/** The principal an open (credential-less, loopback-only) local server acts as. */
export const ANONYMOUS = 'anonymous';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Compares equal-length digests so timing reveals neither length nor matching prefix. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * A tag naming the credentials in force, which upload-URL tokens are bound to: changing the
 * username or password (or setting credentials on an open server) revokes every URL minted
 * before. Only ever used inside the tokens' HMAC, never shown. An open server has its own
 * fixed tag.
 */
export function credentialsBinding(credentials: Credentials | undefined): string {
  if (!credentials) return 'open';
  return createHash('sha256').update(`camli-credentials-v1\0${credentials.username}\0${credentials.password}`, 'utf8').digest('hex');
}

/** The user and password of an `Authorization: Basic` header; undefined without one; 401 when it is not Basic. */
function basicOf(event: HttpEvent): { user: string; pass: string } | undefined {
  const raw = header(event, 'authorization');
  if (raw === undefined) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(raw);
  if (!m) throw REFUSE.authenticationRequired();
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return { user: colon < 0 ? decoded : decoded.slice(0, colon), pass: colon < 0 ? '' : decoded.slice(colon + 1) };
}

/**
 * Checks HTTP Basic credentials and returns the caller's principal. With no credentials
 * configured everyone is ANONYMOUS (the local server allows that only on loopback).
 */
export function authenticate(event: HttpEvent, expected: Credentials | undefined): string {
  if (!expected) return ANONYMOUS;
  const basic = basicOf(event);
  if (!basic) throw REFUSE.authenticationRequired();
  // Evaluate both comparisons so a wrong user and a wrong password take the same time.
  const ok = [sameSecret(basic.user, expected.username), sameSecret(basic.pass, expected.password)].every(Boolean);
  if (!ok) throw REFUSE.invalidCredentials();
  return basic.user;
}

/** Who a request is from, once authenticated: what the router checks the route's operations against. */
export interface Caller {
  /** What logs name it by (never a secret): a credential's id, OWNER_ID or ANONYMOUS. */
  credentialId: string;
  /** What its tokens carry and discovery calls it: a credential's id, the owner's user name, or ANONYMOUS. */
  principal: string;
  scope: Scope;
  /** The stored credential, for a credential that is data (not the owner's). */
  record?: CredentialRecord | undefined;
}

/** How logs name the owner's credential (Secrets Manager's, BLOBSERVER_AUTH's). */
export const OWNER_ID = 'owner';

/** The user name a credential-shaped Basic header claims, for the log line of a refused request. */
export function claimedCredentialId(event: HttpEvent): string | undefined {
  try {
    const user = basicOf(event)?.user;
    return user !== undefined && CREDENTIAL_ID.test(user) ? user : undefined;
  } catch {
    return undefined;
  }
}

/** Is this token principal a stored credential (rather than the owner or an open server's caller)? */
export function isCredentialPrincipal(principal: string, owner: Credentials | undefined): boolean {
  return CREDENTIAL_ID.test(principal) && principal !== owner?.username;
}

const REFUSAL_REASON = { unknown: 'unknown', 'wrong-secret': 'wrong secret', revoked: 'revoked', expired: 'expired' } as const;

/**
 * The caller of a request, from its HTTP Basic credentials: the owner's (`owner`), or a stored
 * credential's (`userpass:ID:SECRET`, looked up through `cache`). An open server (no owner
 * credentials: loopback only) takes a request without credentials as the owner's, and one with
 * a stored credential's as that credential's, so scopes can be tried there too.
 */
export async function identify(event: HttpEvent, owner: Credentials | undefined, cache: Pick<CredentialCache, 'authenticate'>): Promise<Caller> {
  const basic = owner
    ? basicOf(event)
    : (() => {
        try {
          return basicOf(event);
        } catch {
          return undefined;
        }
      })();
  if (basic && isCredentialPrincipal(basic.user, owner)) {
    const check = await cache.authenticate(basic.user, basic.pass);
    if (!check.ok) throw REFUSE.credentialRefused(basic.user, REFUSAL_REASON[check.reason]);
    const { record } = check;
    return { credentialId: record.id, principal: record.id, scope: { namespaces: record.namespaces, operations: record.operations }, record };
  }
  if (!owner) return { credentialId: ANONYMOUS, principal: ANONYMOUS, scope: OWNER_SCOPE };
  const principal = authenticate(event, owner);
  return { credentialId: OWNER_ID, principal, scope: OWNER_SCOPE };
}
