import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * How every function is built, shared by the stack and bench/bundle-size.ts so the figures
 * the bench prints are those of what gets deployed.
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

export const BUNDLING = {
  minify: true,
  sourceMap: true,
  // Stack traces need names and positions, not the sources: keeps the .map small.
  sourcesContent: false,
  target: ESBUILD_TARGET,
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  banner: REQUIRE_SHIM,
  // Bundle the SDK too: pinned versions (the handlers use recent client options) and one
  // minified file load faster than the runtime's SDK tree.
  bundleAwsSDK: true,
  externalModules: [],
  // Never Docker: CI machines have no engine; esbuild is a local dependency.
  forceDockerBundling: false,
} satisfies BundlingOptions;
