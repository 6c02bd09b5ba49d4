import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../lambda/core/config.js';
import type { TemplateJson } from '../infra/helpers.js';
import { startAwsProxy, type AwsProxy, type Fault, type ProxiedRequest } from './aws-proxy.js';
import { accessDenied, requestAuth, type RequestAuth, type Where } from './aws-request-auth.js';
import type { BackendFactory } from './backends.js';
import { evaluate, type AuthRequest, type Statement } from './iam-policy.js';
import { synthInputsDigest } from './synth-inputs.js';
import type { Lane } from './test-server.js';

/**
 * The permission lane: every AWS call each function makes is checked against THAT function's
 * role policy, taken from the synthesized template (the app synthesized in-process exactly as
 * `cdk synth` does, never a hand-written copy). The local server signs each side's calls with
 * its own session token (BLOBSERVER_SIDE_SESSION_TOKEN_PREFIX), a proxy in front of each emulator
 * maps every request to its IAM action and resource and evaluates it: a call the role may not
 * make gets the service's own AccessDenied, and an S3 object read of a missing key gets S3's 403
 * unless the role may also s3:ListBucket there. The test harness's own calls (reading and
 * seeding storage directly, the local server provisioning its bucket and table) carry an identity
 * of their own, HARNESS_TOKEN, and pass unchecked but counted. A call with no lane session at all
 * is refused and fails the file (reportPermissionLane): it would be a function's call that
 * escaped its role.
 */

export const SIDE_TOKEN_PREFIX = 'permission-lane:';
/** The session token of the harness's own AWS calls (AWS_SESSION_TOKEN of the lane's backend env). */
export const HARNESS_TOKEN = `${SIDE_TOKEN_PREFIX}harness`;
/** The functions whose roles the lane can hold a call to (the session token is the prefix and one of these). */
export type FunctionRole = 'read' | 'write' | 'rotateSigningKey' | 'collector';
const WHERE: Where = { region: 'us-east-1', account: '000000000000' };

export interface RolePolicy {
  /** Read, write (each with and without allowRemove), rotateSigningKey, collector. */
  name: string;
  statements: Statement[];
}

/** The names the lane's emulators use for the template's bucket, table and secrets (ARNs). */
export interface Physical {
  bucket: string;
  table: string;
  secrets?: { credentials?: string; signingKey?: string };
}

const DEFAULT_PHYSICAL: Physical = { bucket: readConfig({}).bucketName, table: readConfig({}).tableName };

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Resolves the intrinsics IAM policies in the template use (Ref, Fn::GetAtt Arn, Fn::Join, pseudo parameters). */
function resolver(json: TemplateJson, names: Record<string, string>): (v: unknown) => string {
  const secret = (id: string) => names[id] ?? secretArn(id);
  const arnOf = (id: string): string => {
    const type = json.Resources[id]?.Type;
    if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${names[id] ?? `unresolved-${id}`}`;
    if (type === 'AWS::DynamoDB::Table') return `arn:aws:dynamodb:${WHERE.region}:${WHERE.account}:table/${names[id] ?? `unresolved-${id}`}`;
    if (type === 'AWS::SecretsManager::Secret') return secret(id);
    return `arn:unresolved:${id}`;
  };
  const resolve = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, any>;
    if (o['Ref'] === 'AWS::Partition') return 'aws';
    if (o['Ref'] === 'AWS::Region') return WHERE.region;
    if (o['Ref'] === 'AWS::AccountId') return WHERE.account;
    if (o['Ref'] === 'AWS::URLSuffix') return 'amazonaws.com';
    if (o['Ref']) return json.Resources[o['Ref']]?.Type === 'AWS::SecretsManager::Secret' ? secret(o['Ref']) : (names[o['Ref']] ?? `unresolved-${o['Ref']}`);
    if (o['Fn::GetAtt']) return arnOf(o['Fn::GetAtt'][0]);
    if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(resolve).join(o['Fn::Join'][0]);
    return `unresolved:${JSON.stringify(o)}`;
  };
  return resolve;
}

/** A secret's ARN in the lane: named after its logical id (Secrets Manager appends a random suffix). */
export const secretArn = (logical: string): string => `arn:aws:secretsmanager:${WHERE.region}:${WHERE.account}:secret:${logical}-AbCdEf`;

/** The statements of a role: its inline policies and every AWS::IAM::Policy attached to it, resolved. */
export function roleStatements(json: TemplateJson, roleId: string, resolve: (v: unknown) => string): Statement[] {
  const role = json.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  if (asList(role.Properties?.['ManagedPolicyArns']).length) throw new Error(`${roleId} has managed policies, which this lane cannot read`);
  const docs: any[] = asList(role.Properties?.['Policies']).map((p: any) => p.PolicyDocument);
  for (const r of Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')) {
    if (asList(r.Properties?.['Roles']).some((ref: any) => ref.Ref === roleId)) docs.push(r.Properties!['PolicyDocument']);
  }
  return docs.flatMap((doc) => asList<any>(doc.Statement).map((st) => ({ ...st, Resource: asList(st.Resource).map(resolve) }) as Statement));
}

type Roles = Record<FunctionRole, Statement[]>;

/** A synthesized template and the logical ids the lane resolves in it. */
interface SynthesizedApp {
  json: TemplateJson;
  ids: { bucket: string; table: string; credentials: string; signingKey: string; read: string; write: string; rotate: string; collector: string };
}

/**
 * The app synthesized with `context` (as `cdk synth --context ...`, cdk-nag included). A synthesis
 * takes 10 to 30 s on a loaded machine, so its result is kept in the temp directory under a
 * digest of every input (synth-inputs.ts) and its context: the lane files of one run synthesize once.
 */
async function synthesizeApp(context: Record<string, unknown>): Promise<SynthesizedApp> {
  const key = createHash('sha256')
    .update(JSON.stringify(context))
    .update(await synthInputsDigest())
    .digest('hex')
    .slice(0, 32);
  const file = join(tmpdir(), `blobserver-permission-lane-${key}.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as SynthesizedApp;
  } catch {
    // not synthesized yet from these sources
  }
  const { synth, logicalId } = await import('../infra/helpers.js');
  const { stack, json } = synth(context);
  const app: SynthesizedApp = {
    json,
    ids: {
      bucket: logicalId(stack.storage.bucket),
      table: logicalId(stack.storage.table),
      credentials: logicalId(stack.secrets.credentials),
      signingKey: logicalId(stack.secrets.signingKey),
      read: logicalId(stack.functions.read.role),
      write: logicalId(stack.functions.write.role),
      rotate: logicalId(stack.secrets.rotation.role),
      collector: logicalId(stack.collection.collector.role),
    },
  };
  const partial = `${file}.${process.pid}`;
  await writeFile(partial, JSON.stringify(app));
  await rename(partial, file); // whole or not at all, whichever file of the run wins
  return app;
}

/** Each role's statements, resolved to one backend's names. */
function rolesOf({ json, ids }: SynthesizedApp, physical: Physical): Roles {
  const names: Record<string, string> = { [ids.bucket]: physical.bucket, [ids.table]: physical.table };
  if (physical.secrets?.credentials) names[ids.credentials] = physical.secrets.credentials;
  if (physical.secrets?.signingKey) names[ids.signingKey] = physical.secrets.signingKey;
  const resolve = resolver(json, names);
  return {
    read: roleStatements(json, ids.read, resolve),
    write: roleStatements(json, ids.write, resolve),
    rotateSigningKey: roleStatements(json, ids.rotate, resolve),
    collector: roleStatements(json, ids.collector, resolve),
  };
}

/** Each function's role, from the app synthesized with `context`, resolved to the lane's names. */
export async function synthesizedRoles(context: Record<string, unknown>, physical: Physical): Promise<Roles> {
  return rolesOf(await synthesizeApp(context), physical);
}

interface Use {
  count: number;
  /** "Sid action-pattern" of the grants that allowed it. */
  grants: Set<string>;
}

/** What each role did through the lane's proxies, and what it was refused. */
export class PermissionLedger {
  private apps?: { plain: SynthesizedApp; remove: SynthesizedApp };
  private readonly resolved = new Map<string, Map<string, Statement[]>>();
  readonly used = new Map<string, Map<string, Use>>();
  /** Calls of the functions themselves that their role refused: each one a missing grant (or a bug). */
  readonly denied: { role: string; operation: string; action: string; resource: string }[] = [];
  /** Client requests with a presigned URL or form that the signer's role refused (tests of refusals do that on purpose). */
  readonly deniedPresigned: { role: string; operation: string; action: string; resource: string }[] = [];
  readonly missingAs403: { role: string; key: string }[] = [];
  /** Calls that carried no lane session: refused, and each one fails the file. */
  readonly unsigned: { operation: string; resource: string }[] = [];
  /** The harness's own calls (HARNESS_TOKEN), passed unchecked. */
  harnessCalls = 0;

  constructor(
    private readonly options: {
      /** Statements (by Sid) taken out of every role: to show what a test would catch without them. */
      withoutSids?: string[];
      /** The ARNs of the secrets the test created, standing for the stack's two secrets. */
      secrets?: () => Physical['secrets'];
      /**
       * A stricter S3: every GET/HEAD (or copy source) of a missing key answers 403, whoever
       * asks, even inside the prefixes a role may list. Absence must then be decided by a
       * listing of the key (lambda/core/aws/object-absence.ts), as it would be on an S3 whose
       * ListBucket grant does not count for reads.
       */
      missingKeysDenied?: boolean;
    } = {},
  ) {}

  /** Synthesizes the app, with and without allowRemove (once: the lane's factory awaits it). */
  async prepare(): Promise<void> {
    this.apps ??= { plain: await synthesizeApp({}), remove: await synthesizeApp({ allowRemove: 'true' }) };
  }

  /**
   * Role name (the side's session token) -> statements, resolved to one backend's names.
   */
  policies(backend: Omit<Physical, 'secrets'> = DEFAULT_PHYSICAL): Map<string, Statement[]> {
    const secrets = this.options.secrets?.();
    const physical: Physical = { ...backend, ...(secrets ? { secrets } : {}) };
    const memo = JSON.stringify(physical);
    const found = this.resolved.get(memo);
    if (found) return found;
    if (!this.apps) throw new Error('PermissionLedger.prepare() has not run');
    const plain = rolesOf(this.apps.plain, physical);
    const remove = rolesOf(this.apps.remove, physical);
    const without = new Set(this.options.withoutSids ?? []);
    const keep = (sts: Statement[]) => sts.filter((st) => !without.has(st.Sid ?? ''));
    const roles = new Map([
      [`${SIDE_TOKEN_PREFIX}read`, keep(plain.read)],
      [`${SIDE_TOKEN_PREFIX}write`, keep(plain.write)],
      [`${SIDE_TOKEN_PREFIX}read+allowRemove`, keep(remove.read)],
      [`${SIDE_TOKEN_PREFIX}write+allowRemove`, keep(remove.write)],
      [`${SIDE_TOKEN_PREFIX}rotateSigningKey`, keep(plain.rotateSigningKey)],
      [`${SIDE_TOKEN_PREFIX}collector`, keep(plain.collector)],
    ]);
    this.resolved.set(memo, roles);
    return roles;
  }

  private allowed(role: string, statements: Statement[], check: AuthRequest): boolean {
    const decision = evaluate(statements, check);
    if (!decision.allowed) return false;
    const uses = this.used.get(role) ?? new Map<string, Use>();
    this.used.set(role, uses);
    const use = uses.get(check.action) ?? { count: 0, grants: new Set<string>() };
    use.count++;
    use.grants.add(grantName(decision.statement, decision.action));
    uses.set(check.action, use);
    return true;
  }

  /** The answer for a request before it reaches the emulator: undefined forwards it. */
  beforeForward(auth: RequestAuth, method: string, backend?: Omit<Physical, 'secrets'>): Fault | undefined {
    if (auth.sessionToken === HARNESS_TOKEN) {
      this.harnessCalls++;
      return undefined;
    }
    if (auth.sessionToken === undefined) {
      this.unsigned.push({ operation: auth.operation, resource: auth.checks[0]?.resource ?? '' });
      return accessDenied(auth, auth.checks[0] ?? { action: auth.operation, resource: '*' }, method);
    }
    const role = auth.sessionToken;
    const statements = this.policies(backend).get(role);
    for (const check of auth.checks) {
      if (!statements || !this.allowed(role, statements, check)) {
        (auth.presigned ? this.deniedPresigned : this.denied).push({ role, operation: auth.operation, action: check.action, resource: check.resource });
        return accessDenied(auth, check, method);
      }
    }
    return undefined;
  }

  /** S3's answer for a missing key to a role that may not list it: 403, not 404. */
  afterUpstream(auth: RequestAuth, method: string, status: number, backend?: Omit<Physical, 'secrets'>): Fault | undefined {
    if (status === 404 && auth.ifMissing && this.options.missingKeysDenied) {
      this.missingAs403.push({ role: auth.sessionToken ?? '(no side token)', key: auth.ifMissing.context?.['s3:prefix'] ?? '' });
      return accessDenied(auth, auth.ifMissing, method);
    }
    if (status !== 404 || !auth.ifMissing || auth.sessionToken === undefined || auth.sessionToken === HARNESS_TOKEN) return undefined;
    const role = auth.sessionToken;
    if (this.allowed(role, this.policies(backend).get(role) ?? [], auth.ifMissing)) return undefined;
    this.missingAs403.push({ role, key: auth.ifMissing.context?.['s3:prefix'] ?? '' });
    return accessDenied(auth, auth.ifMissing, method);
  }

  /** Per role: the actions used (with the grants that allowed them) and the grants never used. */
  summary(): string {
    if (!this.apps) return 'permission lane: did not run';
    const lines: string[] = ['permission lane: AWS calls per function role (from the synthesized template)'];
    for (const [role, statements] of this.policies()) {
      const uses = this.used.get(role);
      if (!uses) {
        lines.push(`  ${role.slice(SIDE_TOKEN_PREFIX.length)}: no calls in this run`);
        continue;
      }
      const usedGrants = new Set([...uses.values()].flatMap((u) => [...u.grants]));
      lines.push(`  ${role.slice(SIDE_TOKEN_PREFIX.length)}:`);
      for (const [action, use] of [...uses].sort()) lines.push(`    used   ${action} x${use.count} (via ${[...use.grants].join(', ')})`);
      // logs:* is the Lambda service writing the function's own log group, not the code's calls.
      const unused = statements
        .flatMap((st) =>
          asList(st.Action)
            .filter((a) => !a.startsWith('logs:'))
            .map((a) => grantName(st, a)),
        )
        .filter((g) => !usedGrants.has(g));
      for (const g of unused) lines.push(`    unused ${g}  <- candidate to remove (or not exercised by these suites)`);
    }
    const list = (ds: PermissionLedger['denied']) => ds.map((d) => `\n    ${d.role} ${d.operation} ${d.action} ${d.resource}`).join('');
    lines.push(`  denied calls of the functions: ${this.denied.length}${list(this.denied)}`);
    lines.push(`  denied presigned client requests (signer's role): ${this.deniedPresigned.length}${list(this.deniedPresigned)}`);
    lines.push(`  missing keys answered 403 (no s3:ListBucket): ${this.missingAs403.length}`);
    lines.push(`  the harness's own calls (reading and seeding storage, provisioning): ${this.harnessCalls}`);
    lines.push(`  calls without a lane session (refused): ${this.unsigned.length}${this.unsigned.map((u) => `\n    ${u.operation} ${u.resource}`).join('')}`);
    return lines.join('\n');
  }
}

const grantName = (st: Statement, action: string): string => `${st.Sid ?? '(no sid)'} ${action}`;

/** A policy-checking proxy in front of one emulator endpoint of a backend whose storage has these names. */
export async function startPolicyProxy(target: string, ledger: PermissionLedger, backend: Omit<Physical, 'secrets'> = DEFAULT_PHYSICAL): Promise<AwsProxy> {
  const proxy = await startAwsProxy(target);
  const auths = new WeakMap<ProxiedRequest, RequestAuth>();
  const authOf = (req: ProxiedRequest): RequestAuth => {
    let auth = auths.get(req);
    if (!auth) auths.set(req, (auth = requestAuth({ method: req.method, url: req.url, headers: req.headers, body: req.body }, WHERE)));
    return auth;
  };
  proxy.setFault((req) => ledger.beforeForward(authOf(req), req.method, backend));
  proxy.setAnswer((req, status) => ledger.afterUpstream(authOf(req), req.method, status, backend));
  // Every request's body would otherwise be kept for the whole file (uploads of many MiB).
  const forget = setInterval(() => proxy.requests.splice(0), 1000);
  forget.unref();
  return { ...proxy, close: async () => (clearInterval(forget), proxy.close()) };
}

/** `base` with its S3, DynamoDB (and Secrets Manager) behind policy proxies and the server's sides under their roles. */
export function permissionLane(base: Lane, ledger: PermissionLedger): Lane {
  const factory: BackendFactory = async (dir) => {
    await ledger.prepare();
    const backend = await base.factory(dir);
    const names = { bucket: backend.env.BLOBSERVER_BUCKET ?? DEFAULT_PHYSICAL.bucket, table: backend.env.BLOBSERVER_TABLE ?? DEFAULT_PHYSICAL.table };
    const targets = Object.entries({
      AWS_ENDPOINT_URL_S3: backend.env.AWS_ENDPOINT_URL_S3,
      AWS_ENDPOINT_URL_DYNAMODB: backend.env.AWS_ENDPOINT_URL_DYNAMODB,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: backend.env.AWS_ENDPOINT_URL_SECRETS_MANAGER,
    }).filter((e): e is [string, string] => e[1] !== undefined);
    const proxies = await Promise.all(targets.map(([, url]) => startPolicyProxy(url, ledger, names)));
    return {
      name: `${backend.name}+iam`,
      env: {
        ...backend.env,
        ...Object.fromEntries(targets.map(([name], i) => [name, proxies[i]!.endpoint])),
        // The harness (and the local server's own provisioning) sign as the harness; each side
        // overrides it with its role's token (BLOBSERVER_SIDE_SESSION_TOKEN_PREFIX).
        AWS_SESSION_TOKEN: HARNESS_TOKEN,
        BLOBSERVER_SIDE_SESSION_TOKEN_PREFIX: SIDE_TOKEN_PREFIX,
      },
      close: async () => {
        await Promise.all(proxies.map((p) => p.close()));
        await backend.close();
      },
    };
  };
  return { ...base, name: `${base.name}+iam`, factory };
}
