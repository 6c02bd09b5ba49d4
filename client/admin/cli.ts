import { parseArgs } from 'node:util';
import { resolveServer } from '../node/config.js';
import { AdminClient, type CredentialInfo } from './credentials.js';

/**
 * `blobserver admin ...`: the deployment's administration over its HTTP API, with an admin
 * credential (--auth / BLOBSERVER_AUTH, as every command). `credentials add|list|revoke` here, `usage` and `quota` in quota-cli.ts;
 * one function per subcommand group.
 */
export const ADMIN_USAGE = `  admin credentials add --label L --namespaces NS,... --ops OP,... [--expires WHEN]
                        make a credential (namespaces: names, / the root, * every one;
                        ops: read, write, remove, admin; WHEN: RFC 3339 or 30d, 12h, 90m);
                        prints its secret, once
  admin credentials list    every credential: id, label, scope, expiry (never secrets)
  admin credentials revoke ID   refused everywhere within the server's bound (60 s)
`;

/** A mistake in the command line (exit status 2, with a pointer to --help). */
export class AdminUsageError extends Error {}

/** `--expires`: an RFC 3339 time, or a duration from now (`30d`, `12h`, `90m`), as RFC 3339. */
export function expiryOf(value: string, now = Date.now()): string {
  const d = /^([1-9][0-9]{0,5})([dhm])$/.exec(value);
  if (d) return new Date(now + Number(d[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[d[2] as 'd' | 'h' | 'm']).toISOString();
  if (/^\d{4}-\d\d-\d\dT/.test(value) && Number.isFinite(Date.parse(value))) return new Date(Date.parse(value)).toISOString();
  throw new AdminUsageError(`--expires must be an RFC 3339 time (2027-01-31T00:00:00Z) or a duration such as 30d, 12h, 90m; got ${JSON.stringify(value)}`);
}

const list = (v: string | undefined, flag: string) => {
  const items = (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new AdminUsageError(`credentials add needs --${flag}`);
  return items;
};

function describe(c: CredentialInfo): string {
  const state = c.revokedAt ? `revoked ${c.revokedAt}` : c.expiresAt ? `expires ${c.expiresAt}` : 'no expiry';
  return `${c.id}  ${JSON.stringify(c.label)}  namespaces=${c.namespaces.join(',')}  ops=${c.operations.join(',')}  ${state}\n`;
}

/** Runs `blobserver admin ...` when `argv` is one (else undefined: not an admin command); the exit status. */
export async function adminCommand(argv: string[], write: (s: string) => Promise<void>): Promise<number | undefined> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      server: { type: 'string' },
      auth: { type: 'string' },
      json: { type: 'boolean', default: false },
      label: { type: 'string' },
      namespaces: { type: 'string' },
      ops: { type: 'string' },
      expires: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (positionals[0] !== 'admin') return undefined;
  // Usage and quotas (quota-cli.ts) run with the CLI's own client, after its options are read.
  if (positionals[1] === 'usage' || positionals[1] === 'quota') return undefined;
  if (values['help']) {
    await write(`Usage: blobserver [--server URL] [--auth userpass:ID:SECRET] [--json]\n${ADMIN_USAGE}`);
    return 0;
  }
  const known = new Set(['server', 'auth', 'json', 'label', 'namespaces', 'ops', 'expires']);
  const unknown = Object.keys(values).find((k) => !known.has(k));
  if (unknown) throw new AdminUsageError(`admin does not take --${unknown}`);
  const [, group, action, ...rest] = positionals;
  if (group !== 'credentials')
    throw new AdminUsageError(`unknown admin command ${JSON.stringify(group ?? '')}: admin credentials add|list|revoke, admin usage, admin quota set|clear`);
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const settings = resolveServer({ server: str('server'), auth: str('auth') });
  const admin = new AdminClient({ server: settings.server, auth: settings.auth });
  const json = values['json'] === true;
  switch (action) {
    case 'add': {
      if (rest.length) throw new AdminUsageError('credentials add takes no arguments, only --label, --namespaces, --ops and --expires');
      const label = str('label');
      if (!label) throw new AdminUsageError('credentials add needs --label');
      const issued = await admin.addCredential({
        label,
        namespaces: list(str('namespaces'), 'namespaces'),
        operations: list(str('ops'), 'ops'),
        expiresAt: str('expires') === undefined ? undefined : expiryOf(str('expires')!),
      });
      await write(
        json
          ? JSON.stringify(issued) + '\n'
          : `${describe(issued)}secret: ${issued.secret}\nauth:   ${issued.auth}\n(the secret is shown this once; the server keeps only its hash)\n`,
      );
      return 0;
    }
    case 'list': {
      if (rest.length) throw new AdminUsageError('credentials list takes no arguments');
      const all = await admin.listCredentials();
      await write(json ? JSON.stringify({ credentials: all }) + '\n' : all.map(describe).join(''));
      return 0;
    }
    case 'revoke': {
      if (rest.length !== 1) throw new AdminUsageError('credentials revoke takes one credential ID');
      const revoked = await admin.revokeCredential(rest[0]!);
      await write(json ? JSON.stringify(revoked) + '\n' : describe(revoked));
      return 0;
    }
    default:
      throw new AdminUsageError(`unknown credentials command ${JSON.stringify(action ?? '')}: add, list or revoke`);
  }
}
