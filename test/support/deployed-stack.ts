import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { newSigningKey } from '../../lambda/rotate-signing-key.js';
import { presignEndpoint } from '../../local/server.js';
import { ensureBucket, ensureTable } from '../../lambda/core/storage/provision.js';
import { startApiFront, type ApiFront } from './apigw-front.js';
import { startAwsProxy, type AwsProxy } from './aws-proxy.js';
import type { Backend, BackendFactory } from './backends.js';
import { EmulatedFunction } from './rie.js';
import { awsClientsFor } from './storage.js';
import { functionOf, resolveEnvironment, resourcesOfType, synthesizedStack, type SynthesizedStack } from './synthesized-stack.js';
import { basicAuth } from './test-server.js';

/**
 * The stack as deployed, offline: `cdk synth` into a fresh cloud assembly, every routed
 * function's bundle from it running in the Lambda Runtime Interface Emulator with the
 * template's memory, timeout and environment, and an API Gateway front routing by the
 * template's route keys. The template's table, bucket and secrets are provisioned on the
 * backend's emulators (S3 and Secrets Manager need an S3 that checks signatures and a Secrets
 * Manager: the LocalStack backend), and each `{Ref}` in a function's environment resolves to
 * what was provisioned for it. S3 and DynamoDB calls pass through counting proxies.
 */
export interface DeployedStack {
  url: string;
  /** HTTP Basic for the credentials secret the lane stored. */
  authorization: string;
  /** The same credentials, for Perkeep's clients (`userpass:USER:PASSWORD`). */
  userpass: string;
  stack: SynthesizedStack;
  /** The routed functions, by logical id. */
  functions: Map<string, EmulatedFunction>;
  /** The other bundled functions (the collector, the key rotation), by logical id: invoked as their services would. */
  unrouted: Map<string, EmulatedFunction>;
  /** What each provisioned resource's `{Ref}` resolves to (table and bucket names, secret ARNs), by logical id. */
  refs: Record<string, string>;
  front: ApiFront;
  backend: Backend;
  proxies: { s3: AwsProxy; dynamodb: AwsProxy };
  names: { bucket: string; table: string };
  /** The settings the template gives the functions (for exact checks). */
  settings: { maxUploadSize: number; uploadUrlTtlSeconds: number; maxBlobSize: number };
  close(): Promise<void>;
}

/** `environment`: settings laid over every function's template environment (a test's shorter bound, say). */
export async function startDeployedStack(factory: BackendFactory, environment: Record<string, string> = {}): Promise<DeployedStack> {
  const dir = await mkdtemp(join(tmpdir(), 'blobserver-deployed-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const stack = await synthesizedStack();
    const backend = await factory(join(dir, 'storage'));
    cleanups.push(() => backend.close());
    const secretsEndpoint = backend.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    if (!secretsEndpoint) throw new Error(`the deployed lane needs Secrets Manager, which ${backend.name} does not have`);
    const [s3, dynamodb] = await Promise.all([startAwsProxy(backend.env.AWS_ENDPOINT_URL_S3), startAwsProxy(backend.env.AWS_ENDPOINT_URL_DYNAMODB)]);
    cleanups.push(
      () => s3.close(),
      () => dynamodb.close(),
    );

    // The template's resources, made on the emulators (CloudFormation's part of a deploy).
    const names = {
      bucket: backend.env.BLOBSERVER_BUCKET ?? `blobserver-${randomBytes(6).toString('hex')}`,
      table: backend.env.BLOBSERVER_TABLE ?? `blobserver-${randomBytes(6).toString('hex')}`,
    };
    const clients = awsClientsFor(backend.env);
    await Promise.all([ensureTable(clients.ddb, names.table), ensureBucket(clients.s3, names.bucket)]);
    const refs: Record<string, string> = {};
    for (const [id] of resourcesOfType(stack, 'AWS::DynamoDB::Table')) refs[id] = names.table;
    for (const [id] of resourcesOfType(stack, 'AWS::S3::Bucket')) refs[id] = names.bucket;
    const sm = new SecretsManagerClient({
      region: backend.env.AWS_REGION,
      endpoint: secretsEndpoint,
      credentials: { accessKeyId: backend.env.AWS_ACCESS_KEY_ID, secretAccessKey: backend.env.AWS_SECRET_ACCESS_KEY },
    });
    let user: { username: string; password: string } | undefined;
    for (const [id, secret] of resourcesOfType(stack, 'AWS::SecretsManager::Secret')) {
      // As the template generates it: a JSON template with a username gets a password, otherwise the value is the raw string (the signing key).
      const template = secret.Properties?.['GenerateSecretString']?.SecretStringTemplate as string | undefined;
      let value = newSigningKey();
      if (template) {
        user = { ...(JSON.parse(template) as { username: string }), password: randomBytes(18).toString('base64url') };
        value = JSON.stringify(user);
      }
      const created = await sm.send(new CreateSecretCommand({ Name: `${names.table}/${id}`, SecretString: value }));
      refs[id] = created.ARN!;
    }
    sm.destroy();
    if (!user) throw new Error('the template has no credentials secret');

    // What Lambda (or LocalStack's Lambda) sets for every function: region, credentials, endpoints.
    const platform: Record<string, string> = {
      AWS_REGION: backend.env.AWS_REGION,
      AWS_DEFAULT_REGION: backend.env.AWS_REGION,
      AWS_ACCESS_KEY_ID: backend.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: backend.env.AWS_SECRET_ACCESS_KEY,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsEndpoint,
      // Clients reach S3 by the other loopback name (see presignEndpoint), through the counting proxy.
      BLOBSERVER_S3_PUBLIC_ENDPOINT: presignEndpoint(s3.endpoint, '127.0.0.1')!,
    };
    const functions = new Map<string, EmulatedFunction>();
    const unrouted = new Map<string, EmulatedFunction>();
    const routed = new Set(stack.routes.map((r) => r.functionId));
    for (const id of Object.keys(stack.functions)) {
      const fn = functionOf(stack, id);
      const templateEnvironment = resolveEnvironment(fn, stack, refs);
      (routed.has(id) ? functions : unrouted).set(
        id,
        new EmulatedFunction({
          name: id,
          codeDir: fn.codeDir,
          handler: fn.handler,
          memoryMb: fn.memoryMb,
          timeoutSeconds: fn.timeoutSeconds,
          environment: { ...platform, ...templateEnvironment, ...environment },
        }),
      );
    }
    cleanups.push(() => Promise.all([...functions.values(), ...unrouted.values()].map((f) => f.close())));
    const front = await startApiFront(stack.routes.map((r) => ({ method: r.method, path: r.path, fn: functions.get(r.functionId)!, timeoutMs: r.timeoutMs })));
    cleanups.push(() => front.close());

    const [firstRouted] = routed;
    if (!firstRouted) throw new Error('the template routes no request to a function');
    const anyFn = functionOf(stack, firstRouted);
    const setting = (name: string) => Number(resolveEnvironment(anyFn, stack, refs)[name]);
    return {
      url: front.url,
      authorization: basicAuth(user.username, user.password),
      userpass: `userpass:${user.username}:${user.password}`,
      stack,
      functions,
      unrouted,
      refs,
      front,
      backend,
      proxies: { s3, dynamodb },
      names,
      settings: {
        maxUploadSize: setting('BLOBSERVER_MAX_UPLOAD_SIZE'),
        uploadUrlTtlSeconds: setting('BLOBSERVER_UPLOAD_URL_TTL_SECONDS'),
        maxBlobSize: setting('BLOBSERVER_MAX_BLOB_SIZE'),
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
