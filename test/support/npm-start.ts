import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `npm start` (local/main.ts) as a child process, as a user runs it, for tests of the CLI's behaviour. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type NpmStart = ChildProcess & { output: () => string };

/** The environment of a child: nothing of the test process's but PATH, quiet, on `dataDir`, any port. */
export function childEnv(dataDir: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
    BLOBSERVER_DATA_DIR: dataDir,
    PORT: '0',
    ...env,
  };
}

/** `nodeFlags`: node's own flags before the script's (the benches compare V8 settings this way). */
export function npmStart(env: Record<string, string>, nodeFlags: readonly string[] = []): NpmStart {
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(root, 'local/main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  return Object.assign(proc, { output: () => out });
}

/** Waits for its "listening" line; answers its URL. */
export async function listening(proc: NpmStart): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const m = /listening on (http:\/\/\S+)/.exec(proc.output());
    if (m) return m[1]!;
    if (proc.exitCode !== null) throw new Error(`npm start exited: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`npm start did not listen: ${proc.output()}`);
}

/** SIGTERM, as Ctrl-C would, and waits for it to exit. */
export async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((ok) => proc.once('exit', ok));
  proc.kill('SIGTERM');
  await exited;
}
