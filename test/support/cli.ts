import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The `blobserver` bin as users run it: plain Node on the compiled client (`npm run build` first; `npm test` does). */
export const BIN = fileURLToPath(new URL('../../client/bin/blobserver.js', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Starts the bin with only PATH, HOME and `env` in its environment. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err })));
  return { child, done };
}

export const runCli = (args: string[], env: Record<string, string | undefined> = {}, cwd?: string) => startCli(args, env, cwd).done;
