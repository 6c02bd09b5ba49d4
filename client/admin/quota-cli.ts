import type { BlobServerClient } from '../http-client.js';
import { fetchUsage, setQuota, type NamespaceUsage } from './admin-client.js';
import { AdminUsageError } from './cli.js';

/**
 * `blobserver admin usage|quota ...`: usage and quotas per namespace over the admin API, so the
 * same commands work against a deployment and the local server; an admin credential. The options
 * it adds to the CLI's are ADMIN_OPTIONS; `admin credentials` is cli.ts's.
 */

export const QUOTA_USAGE = `  admin usage [--namespace NS]        bytes and blobs per namespace, with their quotas
                        (NS: a namespace name, / for the root)
  admin quota set NS [--bytes N] [--blobs N]   set NS's quota (N: a number, K/M/G/T suffixes
                        are 1000-based, KiB/MiB/GiB/TiB 1024-based); an upload that would pass
                        it is refused (507) before anything is stored
  admin quota clear NS  remove NS's quota
`;

/** The options `admin` reads, for the CLI's parser. */
export const ADMIN_OPTIONS = {
  namespace: { type: 'string' },
  bytes: { type: 'string' },
  blobs: { type: 'string' },
} as const;

const UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };

/** `12`, `5G`, `5GB`, `1.5GiB` -> bytes (withUnits); a count is a plain whole number. */
export function parseAmount(flag: string, raw: string, withUnits: boolean): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([a-z]*)$/i.exec(raw.trim());
  let n = Number.NaN;
  if (m) {
    const unit = m[2]!.toLowerCase().replace(/b$/, '');
    const scale = withUnits ? UNITS[unit] : m[2] === '' ? 1 : undefined;
    if (scale !== undefined) n = Number(m[1]) * scale;
  }
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new AdminUsageError(
      `--${flag} must be a whole number${withUnits ? ' of bytes (K, M, G, T, KiB, MiB, GiB, TiB allowed)' : ''}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

const of = (n: number, max: number | undefined) => (max === undefined ? `${n}` : `${n} of ${max}`);
export const usageLine = (u: NamespaceUsage) => `${u.namespace}\t${of(u.bytes, u.maxBytes)} bytes\t${of(u.blobs, u.maxBlobs)} blobs\n`;

/** Runs `admin ARGS`; answers the exit status. */
export async function runAdmin(
  client: BlobServerClient,
  args: string[],
  options: { json: boolean; namespace?: string | undefined; bytes?: string | undefined; blobs?: string | undefined },
  write: (s: string) => Promise<void>,
): Promise<number> {
  const [what, ...rest] = args;
  const out = (human: string, machine: unknown) => write(options.json ? JSON.stringify(machine) + '\n' : human);
  if (what === 'usage') {
    if (rest.length) throw new AdminUsageError('admin usage takes no arguments (--namespace NS for one)');
    const usage = await fetchUsage(client, options.namespace);
    await out(usage.map(usageLine).join(''), { usage });
    return 0;
  }
  if (what === 'quota') {
    const [verb, ns, extra] = rest;
    if (!ns || extra !== undefined || (verb !== 'set' && verb !== 'clear'))
      throw new AdminUsageError('admin quota set NS [--bytes N] [--blobs N] | admin quota clear NS');
    if (verb === 'clear') {
      if (options.bytes !== undefined || options.blobs !== undefined) throw new AdminUsageError('admin quota clear takes no --bytes or --blobs');
      const u = await setQuota(client, ns, { maxBytes: null, maxBlobs: null });
      await out(usageLine(u), u);
      return 0;
    }
    if (options.bytes === undefined && options.blobs === undefined) throw new AdminUsageError('admin quota set needs --bytes N, --blobs N or both');
    const u = await setQuota(client, ns, {
      maxBytes: options.bytes === undefined ? undefined : parseAmount('bytes', options.bytes, true),
      maxBlobs: options.blobs === undefined ? undefined : parseAmount('blobs', options.blobs, false),
    });
    await out(usageLine(u), u);
    return 0;
  }
  throw new AdminUsageError(`unknown admin command "${what ?? ''}": admin usage | admin quota set | admin quota clear`);
}
