import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../infra/app.js';
import { PROJECT_ROOT } from '../../infra/bundling.js';
import type { BlobServerStack } from '../../infra/stack.js';

/** Shared by the infra tests: synthesize the app exactly as `cdk synth` would (cdk.json context). */

export const CDK_JSON = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { app: string; context: Record<string, unknown> };

export type Resource = { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: string[] };
export type TemplateJson = { Resources: Record<string, Resource>; Outputs?: Record<string, { Value: unknown; Description?: string }> };

export interface Synth {
  app: App;
  stack: BlobServerStack;
  template: Template;
  json: TemplateJson;
}

/**
 * One synthesis of the app with extra context. `bundle: false` skips esbuild (the template is
 * the same apart from asset hashes), which keeps tests that only read the template fast.
 */
export function synth(context: Record<string, unknown> = {}, { bundle = false } = {}): Synth {
  const app = new App({ context: { ...CDK_JSON.context, ...(bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...context } });
  const { stack } = buildApp(app);
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as TemplateJson };
}

export function logicalId(construct: IConstruct): string {
  const stack = construct.node.scopes.find((s): s is Stack => 'templateOptions' in s)!;
  const el = (construct.node.defaultChild ?? construct) as CfnElement;
  return stack.resolve(stack.getLogicalId(el)) as string;
}

export function resourcesOfType(json: TemplateJson, type: string): [string, Resource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** The resource with this logical id: a template without it fails the test. */
export function resourceOf(json: TemplateJson, id: string): Resource {
  const r = json.Resources[id];
  assert.ok(r, `${id} is in the template`);
  return r;
}

/** The properties of the resource with this logical id (both must exist). */
export function propertiesOf(json: TemplateJson, id: string): Record<string, any> {
  const p = resourceOf(json, id).Properties;
  assert.ok(p, `${id} has properties`);
  return p;
}

/** The one resource of this type: none or several fail the test. */
export function onlyOfType(json: TemplateJson, type: string): Resource {
  const found = resourcesOfType(json, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0]![1];
}

/** Renders an IAM resource (ARN intrinsics) with friendly names for the logical ids in `names`. */
export function renderArn(value: unknown, names: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const o = value as Record<string, any>;
  if (o['Ref']) return names[o['Ref']] ?? `Ref(${o['Ref']})`;
  if (o['Fn::GetAtt']) return names[o['Fn::GetAtt'][0]] ?? `GetAtt(${o['Fn::GetAtt'].join('.')})`;
  if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map((p) => renderArn(p, names)).join(o['Fn::Join'][0]);
  return JSON.stringify(o);
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Everything a role may do, as sorted "action resource" lines: its inline policies and every
 * AWS::IAM::Policy attached to it. Managed policies, Deny and conditions show up as
 * distinctive lines so an exact comparison catches them too.
 */
export function permissionsOf(json: TemplateJson, roleId: string, names: Record<string, string>): string[] {
  const role = json.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  const docs: any[] = asList(role.Properties?.['Policies']).map((p: any) => p.PolicyDocument);
  for (const [, r] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    if (asList(r.Properties?.['Roles']).some((ref: any) => ref.Ref === roleId)) docs.push(r.Properties!['PolicyDocument']);
  }
  const lines = asList(role.Properties?.['ManagedPolicyArns']).map((arn) => `managed-policy ${JSON.stringify(arn)}`);
  for (const doc of docs) {
    for (const st of doc.Statement) {
      const prefix = st.Effect === 'Allow' ? '' : `${st.Effect} `;
      const suffix = st.Condition ? ` if ${JSON.stringify(st.Condition)}` : '';
      for (const action of asList<string>(st.Action)) {
        for (const res of asList(st.Resource)) lines.push(`${prefix}${action} ${renderArn(res, names)}${suffix}`);
      }
    }
  }
  return lines.sort();
}

/** Lines "action resource" for actions × resources, sorted, for comparisons with permissionsOf. */
export function grants(actions: string[], resources: string[]): string[] {
  return actions.flatMap((a) => resources.map((r) => `${a} ${r}`));
}
