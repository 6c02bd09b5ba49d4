import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `npm run fsck` as a user runs it: a child process configured from `env` alone; its exit status and output. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function runFsck(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((ok) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/fsck.ts'), ...args], {
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
