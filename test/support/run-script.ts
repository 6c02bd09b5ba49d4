import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A repository script (`scripts/fsck.ts`, `scripts/migrate.ts`, the CDK app) run through tsx as
 * a user runs it: a child process configured from `env` alone (and PATH); its exit status and
 * what it printed, stdout and stderr together.
 */
export function runScript(script: string, env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((ok) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...args], {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    proc.once('exit', (code) => ok({ code, out }));
  });
}

/** `npm run fsck` with these arguments. */
export const runFsck = (env: Record<string, string>, ...args: string[]) => runScript('scripts/fsck.ts', env, ...args);
