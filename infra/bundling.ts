import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Architecture, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { buildSync, type BuildOptions, type Metafile } from 'esbuild';

/**
 * How every function is built, shared by the stack and the benches (bench/bundle-size.ts,
 * bench/cold-start.ts) so the figures they print are those of what gets deployed.
 */

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest Node.js Lambda runtime this aws-cdk-lib knows; cdk-nag's L1 wants the latest. */
export const RUNTIME = Runtime.NODEJS_24_X;
export const ESBUILD_TARGET = 'node24';
export const ARCHITECTURE = Architecture.ARM_64;

/** Lambda entry points (each exports `handler`), relative to the project root. */
export const ENTRIES = {
  read: 'lambda/read.ts',
  write: 'lambda/write.ts',
  rotateSigningKey: 'lambda/rotate-signing-key.ts',
  collect: 'lambda/collect.ts',
} as const;
export type EntryName = keyof typeof ENTRIES;

/** ESM output cannot `require` Node built-ins from bundled CommonJS dependencies without this. */
export const REQUIRE_SHIM = "import{createRequire as __cjsRequire}from'node:module';const require=__cjsRequire(import.meta.url);";

/**
 * esbuild's options for every function. ESM with code splitting: `index.mjs` holds what the
 * runtime evaluates at a cold start, and each dynamic `import()` (a route's handler, the wiring
 * with the AWS SDK, the /ui page) is its own chunk under `chunks/`, read and compiled only when
 * first imported (docs/layout.md, "What loads when"). One big file would be compiled whole at
 * every cold start, most of it code the first request never runs. The AWS SDK is bundled too:
 * pinned versions (the handlers use recent client options), its ESM builds (`mainFields`) so
 * esbuild drops what is not used.
 */
export const BUNDLING = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ESBUILD_TARGET,
  splitting: true,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  minify: true,
  // Stack traces need names and positions, not the sources: keeps the .map files small.
  sourcemap: 'linked',
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: { js: REQUIRE_SHIM },
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** Extra esbuild options of one function: the read side's /ui page (`define`, see infra/functions.ts). */
export type BundleExtras = Pick<BuildOptions, 'define'>;

/** Bundles one function into `outdir` (index.mjs, chunks/, their maps); returns esbuild's metafile. */
export function bundleFunction(name: EntryName, outdir: string, extras: BundleExtras = {}): Metafile {
  const result = buildSync({ ...BUNDLING, ...extras, entryPoints: { index: join(PROJECT_ROOT, ENTRIES[name]) }, outdir, metafile: true });
  return result.metafile!;
}

/**
 * A function's code asset, bundled locally by esbuild's API (never Docker: CI machines have no
 * engine; esbuild is a local dependency), hashed by its output. aws-lambda-nodejs's
 * NodejsFunction runs esbuild's CLI with one `--outfile`, which rules out code splitting.
 */
export function functionCode(name: EntryName, extras: BundleExtras = {}): Code {
  return Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled: local bundling either succeeds or throws.
      image: DockerImage.fromRegistry('local-esbuild-only'),
      // Never run either, but CDK keys its per-process cache of staged assets by these options
      // (not by `local`): without the entry in them every function would get the first one's bundle.
      command: ['esbuild', ENTRIES[name], createHash('sha256').update(JSON.stringify(extras)).digest('hex')],
      local: {
        tryBundle(outputDir) {
          bundleFunction(name, outputDir, extras);
          return true;
        },
      },
    },
  });
}
