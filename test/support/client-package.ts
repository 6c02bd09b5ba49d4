import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The client package as a user gets it: `npm pack` of the workspace (client/dist must be built:
 * `npm run build`), installed with `npm install --omit=dev` into an empty folder, offline. Its
 * dependencies are packed from this repo's node_modules and installed alongside (theirs come
 * from npm's cache), so nothing needs the registry (the tests run in a loopback-only network
 * namespace).
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PACKAGE_NAME = '@camli-serverless/blobserver-client';

export interface InstalledPackage {
  /** The folder the package was installed into (its node_modules holds it). */
  dir: string;
  tarball: string;
  bin: string;
}

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function installPackedClient(work: string): InstalledPackage {
  if (!existsSync(join(ROOT, 'client', 'dist', 'index.js'))) throw new Error('client/dist is missing: run `npm run build` first');
  const packs = join(work, 'packs');
  mkdirSync(packs, { recursive: true });
  const packed = (spec: string) => (JSON.parse(npm(['pack', spec, '--pack-destination', packs, '--json'], ROOT)) as { filename: string }[])[0]!.filename;
  const tarball = join(packs, packed('./client'));
  const deps = Object.keys(
    (
      JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./client/package.json"))'], { cwd: ROOT, encoding: 'utf8' })) as {
        dependencies?: Record<string, string>;
      }
    ).dependencies ?? {},
  );
  const depTarballs = deps.map((d) => join(packs, packed(`./node_modules/${d}`)));
  const dir = join(work, 'app');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  npm(['install', '--omit=dev', '--offline', '--ignore-scripts', tarball, ...depTarballs], dir);
  return { dir, tarball, bin: join(dir, 'node_modules', '.bin', 'blobserver') };
}

/** Bytes and files under a folder (symlinks counted as themselves). */
export function treeSize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = treeSize(p);
      bytes += sub.bytes;
      files += sub.files;
    } else {
      bytes += statSync(p, { throwIfNoEntry: false })?.size ?? 0;
      files++;
    }
  }
  return { bytes, files };
}
