import { createHash, timingSafeEqual } from 'node:crypto';
import { REFUSE } from '../http/errors.js';
import { header, type HttpEvent } from '../http/http.js';

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

/**
 * Checks HTTP Basic credentials and returns the caller's principal. With no credentials
 * configured everyone is ANONYMOUS (the local server allows that only on loopback).
 */
export function authenticate(event: HttpEvent, expected: Credentials | undefined): string {
  if (!expected) return ANONYMOUS;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header(event, 'authorization') ?? '');
  if (!m) throw REFUSE.authenticationRequired();
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const pass = colon < 0 ? '' : decoded.slice(colon + 1);
  // Evaluate both comparisons so a wrong user and a wrong password take the same time.
  const ok = [sameSecret(user, expected.username), sameSecret(pass, expected.password)].every(Boolean);
  if (!ok) throw REFUSE.invalidCredentials();
  return user;
}
