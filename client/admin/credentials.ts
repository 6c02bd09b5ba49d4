import { BlobServerError, describeBody } from '../errors.js';
import { authorizationHeader } from '../http-client.js';

/**
 * The server's admin API for credentials (the server's docs/security.md), over HTTP with an
 * admin credential (the owner's, or one made with the admin operation): the same calls work
 * against a deployment and the local server.
 */

export interface CredentialInfo {
  id: string;
  label: string;
  /** `/` is the root namespace, `*` every namespace. */
  namespaces: string[];
  operations: string[];
  createdAt?: string;
  expiresAt?: string;
  revokedAt?: string;
}

/** A new credential: its secret is in this answer only. */
export interface IssuedCredential extends CredentialInfo {
  secret: string;
  /** `userpass:ID:SECRET`, for --auth, BLOBSERVER_AUTH and Perkeep's client-config.json. */
  auth: string;
}

export interface NewCredential {
  label: string;
  namespaces: string[];
  operations: string[];
  /** RFC 3339. */
  expiresAt?: string | undefined;
}

export class AdminClient {
  private readonly base: string;
  private readonly authorization: string | undefined;

  constructor(options: { server: string; auth?: string | undefined; fetch?: typeof fetch | undefined }) {
    this.base = options.server.replace(/\/+$/, '');
    this.authorization = authorizationHeader(options.auth);
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  private readonly fetch: typeof fetch;

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = `${this.base}${path}`;
    const headers: Record<string, string> = {};
    if (this.authorization) headers['authorization'] = this.authorization;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (err) {
      throw new BlobServerError(`cannot reach ${url}: ${(err as Error).message}`, { operation: 'admin', url, retryable: true, cause: err });
    }
    const text = await res.text();
    if (!res.ok) throw new BlobServerError(`${method} ${path}: HTTP ${res.status}: ${describeBody(text)}`, { operation: 'admin', url, status: res.status });
    return JSON.parse(text) as T;
  }

  async listCredentials(): Promise<CredentialInfo[]> {
    return (await this.call<{ credentials: CredentialInfo[] }>('GET', '/admin/credentials')).credentials;
  }

  addCredential(request: NewCredential): Promise<IssuedCredential> {
    return this.call('POST', '/admin/credentials', request);
  }

  revokeCredential(id: string): Promise<CredentialInfo> {
    return this.call('POST', `/admin/credentials/${encodeURIComponent(id)}/revoke`);
  }
}
