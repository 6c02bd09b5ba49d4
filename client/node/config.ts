import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BlobServerError } from '../errors.js';

/**
 * Where the CLI finds its server and credentials: flags, else BLOBSERVER_URL/BLOBSERVER_AUTH,
 * else Perkeep's client-config.json (in CAMLI_CONFIG_DIR, else $XDG_CONFIG_HOME/perkeep or
 * ~/.config/perkeep), so a Perkeep user needs no new configuration. `--server NAME` may also
 * name a server of that file, as pk-put's -server does.
 */

export interface ServerSettings {
  server: string;
  auth?: string | undefined;
  /** Where the settings came from, for error messages. */
  source: string;
}

interface PerkeepServer {
  server?: string;
  auth?: string;
  default?: boolean;
}

export function perkeepConfigPath(env: NodeJS.ProcessEnv): string {
  const dir = env['CAMLI_CONFIG_DIR'] || join(env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'perkeep');
  return join(dir, 'client-config.json');
}

function readPerkeepServers(path: string): Record<string, PerkeepServer> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return ((JSON.parse(text) as { servers?: Record<string, PerkeepServer> }).servers ?? {}) as Record<string, PerkeepServer>;
  } catch (cause) {
    throw new BlobServerError(`config: ${path} is not valid JSON`, { operation: 'config', cause });
  }
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

export function resolveServer(flags: { server?: string | undefined; auth?: string | undefined }, env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const path = perkeepConfigPath(env);
  if (flags.server && isUrl(flags.server)) return { server: flags.server, auth: flags.auth ?? env['BLOBSERVER_AUTH'], source: '--server' };
  if (!flags.server && env['BLOBSERVER_URL']) return { server: env['BLOBSERVER_URL'], auth: flags.auth ?? env['BLOBSERVER_AUTH'], source: 'BLOBSERVER_URL' };
  const servers = readPerkeepServers(path);
  const entries = Object.entries(servers ?? {});
  const chosen = flags.server
    ? entries.find(([name]) => name === flags.server)
    : (entries.find(([, s]) => s.default) ?? (entries.length === 1 ? entries[0] : undefined));
  if (!chosen?.[1].server) {
    // A host (name with a dot, or host:port) given without its scheme: say so, rather than "no server named".
    if (flags.server && /[.:]|^localhost$/.test(flags.server)) {
      throw new BlobServerError(`config: --server ${flags.server} has no scheme: say http://${flags.server} or https://${flags.server}`, {
        operation: 'config',
      });
    }
    const why = flags.server
      ? `no server named "${flags.server}" in ${path}`
      : servers
        ? `no default server in ${path}`
        : `no --server, no BLOBSERVER_URL and no ${path}`;
    throw new BlobServerError(`config: ${why}`, { operation: 'config' });
  }
  const server = isUrl(chosen[1].server) ? chosen[1].server : `https://${chosen[1].server}`;
  return { server, auth: flags.auth ?? env['BLOBSERVER_AUTH'] ?? chosen[1].auth, source: path };
}
