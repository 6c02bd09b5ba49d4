import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../infra/app.js';
import { PROJECT_ROOT } from '../../infra/bundling.js';
import { CDK_JSON } from '../infra/helpers.js';
import { synthInputsDigest } from './synth-inputs.js';

/**
 * The stack as `cdk synth` writes it: a cloud assembly (cdk.out) with the template and each
 * function's bundle, made by the real app with cdk.json's context and real esbuild bundling.
 * Everything the deployed-artifact lane runs is read from here, never from the sources: the
 * functions (bundle directory, handler, memory, timeout, environment) and the HTTP API's
 * routes (route key -> integration -> function).
 */

type Intrinsic = string | number | boolean | { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] } | Record<string, unknown>;

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  Metadata?: Record<string, unknown>;
}

export interface SynthesizedFunction {
  /** The function's logical id in the template. */
  logicalId: string;
  /** The bundle directory in the cloud assembly, exactly as synthesized. */
  codeDir: string;
  /** `file.export`, as Lambda reads it. */
  handler: string;
  runtime: string;
  architectures: string[];
  memoryMb: number;
  timeoutSeconds: number;
  /** Environment.Variables as the template has them (references unresolved). */
  environment: Record<string, Intrinsic>;
}

export interface SynthesizedRoute {
  /** `METHOD /path/{param}`, as API Gateway matches it. */
  routeKey: string;
  method: string;
  path: string;
  /** Logical id of the function its integration invokes. */
  functionId: string;
  payloadFormatVersion: string;
  /** The integration's TimeoutInMillis, when the template sets one. */
  timeoutMs?: number | undefined;
}

export interface SynthesizedStack {
  outdir: string;
  templatePath: string;
  resources: Record<string, CfnResource>;
  functions: Record<string, SynthesizedFunction>;
  routes: SynthesizedRoute[];
}

/** `cdk synth` in this process (the app cdk.json names, with its context) into `outdir`. */
export async function synthesizeStack(outdir: string): Promise<SynthesizedStack> {
  // The CLI adds asset metadata (which directory holds each function's bundle) by default.
  const { app, stack } = buildApp(new App({ outdir, context: { ...CDK_JSON.context, 'aws:cdk:enable-asset-metadata': true } }));
  const assembly = app.synth();
  const templatePath = assembly.getStackByName(stack.stackName).templateFullPath;
  return readStack(outdir, templatePath);
}

const LOCK_STALE_MS = 10 * 60_000;

/**
 * The stack synthesized into `cdk.out/deployed-<hash of its inputs>/`, reused while the
 * inputs are unchanged: test files of one run (and the bench) share one synthesis. A lock
 * directory keeps two processes from synthesizing the same inputs at once.
 */
export async function synthesizedStack(): Promise<SynthesizedStack> {
  const outdir = join(PROJECT_ROOT, 'cdk.out', `deployed-${(await synthInputsDigest()).slice(0, 16)}`);
  const lock = `${outdir}.lock`;
  const manifest = join(outdir, 'manifest.json');
  await mkdir(join(PROJECT_ROOT, 'cdk.out'), { recursive: true });
  for (;;) {
    if (existsSync(manifest)) return readStack(outdir, join(outdir, 'Blobserver.template.json'));
    try {
      await mkdir(lock);
    } catch {
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      if (existsSync(manifest)) continue;
      const building = `${outdir}.building-${process.pid}`;
      await rm(building, { recursive: true, force: true });
      const built = await synthesizeStack(building);
      await rename(building, outdir);
      return readStack(outdir, join(outdir, relative(building, built.templatePath)));
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

/** Reads a synthesized template and its cloud assembly. */
export async function readStack(outdir: string, templatePath: string): Promise<SynthesizedStack> {
  const template = JSON.parse(await readFile(templatePath, 'utf8')) as { Resources: Record<string, CfnResource> };
  const resources = template.Resources;
  const functions: Record<string, SynthesizedFunction> = {};
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const assetPath = r.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') continue; // not a bundled function of ours (e.g. a CDK-provided one)
    const p = r.Properties!;
    functions[id] = {
      logicalId: id,
      codeDir: join(outdir, assetPath),
      handler: p['Handler'],
      runtime: p['Runtime'],
      architectures: p['Architectures'] ?? ['x86_64'],
      // CloudFormation's defaults when a property is absent.
      memoryMb: p['MemorySize'] ?? 128,
      timeoutSeconds: p['Timeout'] ?? 3,
      environment: p['Environment']?.Variables ?? {},
    };
  }
  const routes: SynthesizedRoute[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::ApiGatewayV2::Route') continue;
    const routeKey = r.Properties!['RouteKey'] as string;
    const integrationId = refIn(r.Properties!['Target']);
    const integration = integrationId ? resources[integrationId] : undefined;
    if (integration?.Type !== 'AWS::ApiGatewayV2::Integration') throw new Error(`route ${routeKey}: target is not an integration in the template`);
    const functionId = getAttIn(integration.Properties!['IntegrationUri']);
    if (!functionId || !functions[functionId]) throw new Error(`route ${routeKey}: its integration does not invoke a bundled function`);
    const [method, path] = routeKey.split(' ', 2);
    if (!method || !path) throw new Error(`route ${routeKey}: not "METHOD /path"`);
    routes.push({
      routeKey,
      method,
      path,
      functionId,
      payloadFormatVersion: integration.Properties!['PayloadFormatVersion'],
      timeoutMs: integration.Properties!['TimeoutInMillis'],
    });
  }
  return { outdir, templatePath, resources, functions, routes };
}

/** The logical id a `{Ref}` names, directly or inside an `Fn::Join` (a route's `integrations/<id>` target). */
function refIn(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, any>;
  if (typeof v['Ref'] === 'string') return v['Ref'];
  if (Array.isArray(v['Fn::Join'])) for (const part of v['Fn::Join'][1] as unknown[]) if (refIn(part)) return refIn(part);
  return undefined;
}

/** The logical id of an `Fn::GetAtt [id, Arn]`. */
function getAttIn(value: unknown): string | undefined {
  const att = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  return att?.[1] === 'Arn' ? att[0] : undefined;
}

/** The bundled function with this logical id (a missing one is an error in the template or the test). */
export function functionOf(stack: SynthesizedStack, id: string): SynthesizedFunction {
  const fn = stack.functions[id];
  if (!fn) throw new Error(`${id} is not a bundled function of the template`);
  return fn;
}

/**
 * A function's environment with its references resolved the way CloudFormation would for a
 * deployment on the lane: `{Ref}` of a table, bucket or secret becomes the name or ARN the
 * lane provisioned for that resource. An unknown reference fails loudly.
 */
export function resolveEnvironment(fn: SynthesizedFunction, stack: SynthesizedStack, refs: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
    else {
      const id = (value as { Ref?: string }).Ref;
      if (!id || refs[id] === undefined) {
        const type = id ? stack.resources[id]?.Type : 'an intrinsic';
        throw new Error(`${fn.logicalId}: ${name} refers to ${JSON.stringify(value)} (${type}), which the lane does not provision`);
      }
      out[name] = refs[id];
    }
  }
  return out;
}

export function resourcesOfType(stack: SynthesizedStack, type: string): [string, CfnResource][] {
  return Object.entries(stack.resources).filter(([, r]) => r.Type === type);
}
