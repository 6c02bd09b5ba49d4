import type { Credentials } from './auth.js';
import { parseUserPass, type AuthSource } from '../config.js';
import type { SecretReader } from './secrets.js';

/** Where the HTTP Basic credentials callers must present come from; undefined means open (local loopback only). */
export type CredentialsSource = () => Promise<Credentials | undefined>;

/**
 * The credentials secret's value: `{"username","password"}` JSON (what CDK generates) or
 * `userpass:U:P`.
 */
function parseCredentialsSecret(raw: string): Credentials {
  return raw.startsWith('userpass:') ? parseUserPass(raw) : (JSON.parse(raw) as Credentials);
}

/** Read per request from the secret's cache, so a changed secret takes effect without a redeploy. */
export function credentialsSource(auth: AuthSource, secrets: Pick<SecretReader, 'read'>): CredentialsSource {
  return async () => {
    if (auth.kind === 'none') return undefined;
    if (auth.kind === 'userpass') return { username: auth.username, password: auth.password };
    const raw = await secrets.read(auth.secretId, 'AWSCURRENT');
    if (!raw) throw new Error('credentials secret is empty');
    return parseCredentialsSecret(raw);
  };
}
