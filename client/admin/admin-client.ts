import { BlobServerError, describeBody } from '../errors.js';
import type { BlobServerClient } from '../http-client.js';

/**
 * The admin API's calls (issue 27) over a client's credentials: usage per namespace, and the
 * quotas that bound it. The root namespace is named `/`. They need an admin credential once
 * the server has scoped credentials.
 */

export interface NamespaceUsage {
  /** A namespace's name, `/` for the root. */
  namespace: string;
  bytes: number;
  blobs: number;
  /** Absent: no limit. */
  maxBytes?: number;
  maxBlobs?: number;
}

/** A limit: a number sets it, null clears it, absent (undefined) leaves it as it is. */
export interface QuotaChange {
  maxBytes?: number | null | undefined;
  maxBlobs?: number | null | undefined;
}

const MAX_ANSWER = 4 << 20;

async function call<T>(client: BlobServerClient, path: string, init: RequestInit = {}): Promise<T> {
  const url = `${client.server}${path}`;
  const exchange = await client.send('admin', url, init);
  const text = new TextDecoder().decode(await exchange.read(MAX_ANSWER));
  if (exchange.res.status !== 200) {
    throw new BlobServerError(`admin: ${path.split('?')[0]} answered ${exchange.res.status}${text ? `: ${describeBody(text)}` : ''}`, {
      operation: 'admin',
      url,
      status: exchange.res.status,
    });
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new BlobServerError(`admin: the server's answer is not JSON: ${text.slice(0, 100)}`, { operation: 'admin', url, cause });
  }
}

/** Usage of every namespace that has any (or a limit), or of the one named (zeros if it has none). */
export async function fetchUsage(client: BlobServerClient, namespace?: string): Promise<NamespaceUsage[]> {
  const query = namespace === undefined ? '' : `?namespace=${encodeURIComponent(namespace)}`;
  return (await call<{ usage: NamespaceUsage[] }>(client, `/admin/usage${query}`)).usage;
}

/** Sets or clears a namespace's limits; answers its usage with the new limits. */
export async function setQuota(client: BlobServerClient, namespace: string, change: QuotaChange): Promise<NamespaceUsage> {
  const body: Record<string, unknown> = { namespace };
  if (change.maxBytes !== undefined) body['maxBytes'] = change.maxBytes;
  if (change.maxBlobs !== undefined) body['maxBlobs'] = change.maxBlobs;
  return call<NamespaceUsage>(client, '/admin/quotas', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
