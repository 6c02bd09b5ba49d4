import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { INDEX_SCHEMA } from '../../lambda/core/storage/index-schema.js';
import { BLOB_PREFIX, GENERATION_KEY, PACK_PREFIX, STAGING_PREFIX, FSCK_RUNS_PREFIX } from '../../lambda/core/storage/object-keys.js';
import { readConfig } from '../../lambda/core/config.js';
import { DEFAULT_MAX_UPLOAD_SIZE, DEFAULT_UPLOAD_URL_TTL_SECONDS, MAX_BLOB_SIZE } from '../../lambda/core/limits.js';
import { ROUTES, routeKey } from '../../lambda/routes.js';
import { grants, logicalId, permissionsOf, propertiesOf, renderArn, resourceOf, resourcesOfType, synth, CDK_JSON, type Resource } from './helpers.js';

/** The JavaScript files of a function's bundle, relative to its directory (index.mjs, chunks/...). */
function moduleFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((f) => f.split('\\').join('/')).filter((f) => f.endsWith('.mjs'));
}

/** index.mjs and every chunk it imports statically, transitively: what the runtime reads and compiles at a cold start. */
function readAtColdStart(dir: string): string[] {
  const seen = new Set<string>();
  const queue = ['index.mjs'];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    // Static imports only (`import{a}from"./x.mjs"`, `import"./x.mjs"`); `import("./x.mjs")` loads on use.
    for (const m of readFileSync(join(dir, file), 'utf8').matchAll(
      /\bimport\s*(?:\{[^}]*\}\s*from\s*|\*\s*as\s*[\w$]+\s*from\s*|[\w$]+\s*from\s*)?"(\.[^"]+)"/g,
    )) {
      queue.push(posix.normalize(posix.join(posix.dirname(file), m[1]!)));
    }
  }
  return [...seen];
}

// The default deployment (`npx cdk deploy` with no context), bundled for real: synthesized once.
const s = synth({}, { bundle: true });
const { stack, template, json } = s;

const id = {
  bucket: logicalId(stack.storage.bucket),
  accessLogs: logicalId(stack.storage.accessLogs),
  table: logicalId(stack.storage.table),
  credentials: logicalId(stack.secrets.credentials),
  signingKey: logicalId(stack.secrets.signingKey),
  read: logicalId(stack.functions.read.fn),
  write: logicalId(stack.functions.write.fn),
  rotate: logicalId(stack.secrets.rotation.fn),
  readRole: logicalId(stack.functions.read.role),
  writeRole: logicalId(stack.functions.write.role),
  rotateRole: logicalId(stack.secrets.rotation.role),
  api: logicalId(stack.api.httpApi),
  accessLogGroup: logicalId(stack.api.accessLogs),
};
const names: Record<string, string> = {
  [id.bucket]: 'bucket',
  [id.table]: 'table',
  [id.credentials]: 'credentials',
  [id.signingKey]: 'signingKey',
  [logicalId(stack.functions.read.logGroup)]: 'readLogs',
  [logicalId(stack.functions.write.logGroup)]: 'writeLogs',
  [logicalId(stack.secrets.rotation.logGroup)]: 'rotateLogs',
};
const fn = (logical: string) => propertiesOf(json, logical);
const blobObjects = `bucket/${BLOB_PREFIX}*`;
const generationObject = `bucket/${GENERATION_KEY}`;
const stagedObjects = `bucket/${STAGING_PREFIX}*`;
const packObjects = `bucket/${PACK_PREFIX}*`;
// The same keys in every named namespace (DESIGN §12): staging/ is shared, never namespaced.
const nsBlobObjects = `bucket/ns/*/${BLOB_PREFIX}*`;
const nsGenerationObject = `bucket/ns/*/${GENERATION_KEY}`;
const nsPackObjects = `bucket/ns/*/${PACK_PREFIX}*`;

describe('storage', () => {
  it('blob bucket: all public access blocked, SSE, owner-enforced, access-logged', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: id.accessLogs }, LogFilePrefix: Match.anyValue() },
      }),
    });
    const blobs = resourceOf(json, id.bucket);
    assert.deepEqual(blobs.Properties!['PublicAccessBlockConfiguration'], {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('both buckets deny every request that is not TLS (enforceSSL) or older than TLS 1.2', () => {
    for (const bucket of [id.bucket, id.accessLogs]) {
      const policies = resourcesOfType(json, 'AWS::S3::BucketPolicy').filter(([, p]) => p.Properties!['Bucket'].Ref === bucket);
      assert.equal(policies.length, 1, `one bucket policy for ${bucket}`);
      const statements = policies[0]![1].Properties!['PolicyDocument'].Statement as any[];
      const deny = statements.find((st) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      assert.ok(deny, 'a Deny on aws:SecureTransport=false');
      assert.equal(deny.Action, 's3:*');
      assert.deepEqual(deny.Principal, { AWS: '*' });
      assert.ok(statements.some((st) => st.Effect === 'Deny' && st.Condition?.NumericLessThan?.['s3:TlsVersion'] === 1.2));
    }
  });

  it('bucket and access logs are retained when the stack is deleted', () => {
    for (const bucket of [id.bucket, id.accessLogs]) {
      assert.equal(resourceOf(json, bucket).DeletionPolicy, 'Retain');
      assert.equal(resourceOf(json, bucket).UpdateReplacePolicy, 'Retain');
    }
    assert.equal(resourcesOfType(json, 'Custom::S3AutoDeleteObjects').length, 0, 'no auto-delete of objects');
  });

  it("abandoned staging/ objects (DESIGN §6) expire after a day, a failed collection run's scratch after two; blobs/ never expire", () => {
    const rules = propertiesOf(json, id.bucket)['LifecycleConfiguration'].Rules as any[];
    assert.ok(rules.some((r) => r.Prefix === STAGING_PREFIX && r.ExpirationInDays === 1 && r.Status === 'Enabled'));
    assert.ok(rules.some((r) => r.Prefix === FSCK_RUNS_PREFIX && r.ExpirationInDays === 2 && r.Status === 'Enabled'));
    assert.ok(rules.every((r) => r.ExpirationInDays === undefined || r.Prefix === STAGING_PREFIX || r.Prefix === FSCK_RUNS_PREFIX));
  });

  it('index table: on demand, PITR, deletion protection, retained, schema from INDEX_SCHEMA', () => {
    const table = resourceOf(json, id.table);
    assert.equal(table.Type, 'AWS::DynamoDB::Table');
    assert.equal(table.DeletionPolicy, 'Retain');
    assert.equal(table.UpdateReplacePolicy, 'Retain');
    const p = table.Properties!;
    assert.equal(p['BillingMode'], 'PAY_PER_REQUEST');
    assert.equal(p['PointInTimeRecoverySpecification'].PointInTimeRecoveryEnabled, true);
    assert.equal(p['DeletionProtectionEnabled'], true);
    assert.deepEqual(p['KeySchema'], [
      { AttributeName: INDEX_SCHEMA.partitionKey, KeyType: 'HASH' },
      { AttributeName: INDEX_SCHEMA.sortKey, KeyType: 'RANGE' },
    ]);
    // Range shards instead of a listing GSI: enumerate reads the base table, strongly consistently.
    assert.equal(p['GlobalSecondaryIndexes'], undefined);
  });
});

describe('secrets', () => {
  it('credentials are generated at deploy time as {"username","password"}', () => {
    const gen = propertiesOf(json, id.credentials)['GenerateSecretString'];
    assert.deepEqual(JSON.parse(gen.SecretStringTemplate), { username: 'camli' });
    assert.equal(gen.GenerateStringKey, 'password');
    assert.equal(gen.ExcludePunctuation, true);
    assert.ok(gen.PasswordLength >= 32);
  });

  it('the signing key is generated at deploy time: 64+ characters, no punctuation', () => {
    const gen = propertiesOf(json, id.signingKey)['GenerateSecretString'];
    assert.equal(gen.ExcludePunctuation, true);
    assert.ok(gen.PasswordLength >= 64);
    assert.equal(gen.SecretStringTemplate, undefined, 'the SecretString is the raw key');
  });

  it('no secret value is in the template', () => {
    for (const [, secret] of resourcesOfType(json, 'AWS::SecretsManager::Secret')) {
      assert.equal(secret.Properties!['SecretString'], undefined);
      assert.ok(secret.Properties!['GenerateSecretString']);
    }
    assert.doesNotMatch(JSON.stringify(json), /"SecretString"/);
  });

  it('the signing key rotates on a schedule through the rotation function, invocable by Secrets Manager only', () => {
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: id.signingKey },
      RotationLambdaARN: { 'Fn::GetAtt': [id.rotate, 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    assert.equal(resourcesOfType(json, 'AWS::SecretsManager::RotationSchedule').length, 1, 'credentials are not rotated automatically');
    const invokers = resourcesOfType(json, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties!['FunctionName']['Fn::GetAtt']?.[0] === id.rotate);
    assert.deepEqual(
      invokers.map(([, p]) => [p.Properties!['Principal'], p.Properties!['SourceAccount']]),
      [['secretsmanager.amazonaws.com', { Ref: 'AWS::AccountId' }]],
    );
  });
});

describe('functions', () => {
  const all = { read: id.read, write: id.write, rotate: id.rotate };

  it('Node.js 22 or newer, arm64, JSON logs into a log group with retention', () => {
    for (const [name, logical] of Object.entries(all)) {
      const p = fn(logical);
      const major = Number(/^nodejs(\d+)\.x$/.exec(p['Runtime'])?.[1]);
      assert.ok(major >= 22, `${name}: runtime ${p['Runtime']}`);
      assert.deepEqual(p['Architectures'], ['arm64'], name);
      assert.equal(p['LoggingConfig'].LogFormat, 'JSON', name);
      const group = resourceOf(json, p['LoggingConfig'].LogGroup.Ref);
      assert.equal(group.Type, 'AWS::Logs::LogGroup');
      assert.equal(group.Properties!['RetentionInDays'], 30, name);
      assert.equal(p['Environment'].Variables.NODE_OPTIONS, '--enable-source-maps', name);
      assert.equal(p['Environment'].Variables.POWERTOOLS_SERVICE_NAME, 'blobserver', name);
    }
  });

  it('memory and timeout are sized for a max-size upload, inside the 30 s API Gateway limit', () => {
    for (const logical of [id.read, id.write]) {
      assert.ok(fn(logical)['MemorySize'] >= 1024);
      assert.ok(fn(logical)['Timeout'] >= 20 && fn(logical)['Timeout'] < 30);
    }
    assert.ok(fn(id.write)['MemorySize'] >= 1769, 'a full vCPU to decode and hash uploads');
  });

  it('the environment is everything lambda/core/config.ts needs for the cloud', () => {
    for (const logical of [id.read, id.write]) {
      const env = Object.fromEntries(Object.entries(fn(logical)['Environment'].Variables as Record<string, unknown>).map(([k, v]) => [k, renderArn(v, names)]));
      const config = readConfig(env);
      assert.equal(config.tableName, 'table');
      assert.equal(config.bucketName, 'bucket');
      assert.deepEqual(config.auth, { kind: 'secret', secretId: 'credentials' });
      assert.deepEqual(config.signingKeys, { kind: 'secret', secretId: 'signingKey' });
      assert.equal(config.maxUploadSize, DEFAULT_MAX_UPLOAD_SIZE);
      assert.equal(config.maxBlobSize, MAX_BLOB_SIZE);
      assert.equal(config.uploadUrlTtlSeconds, DEFAULT_UPLOAD_URL_TTL_SECONDS);
      assert.equal(config.allowRemove, false);
      assert.ok(
        Object.values(config.endpoints).every((e) => e === undefined),
        'real AWS endpoints',
      );
      assert.equal(config.credentials, undefined, 'the execution role, not static keys');
    }
  });

  describe('bundles (local esbuild, no Docker)', () => {
    const outdir = s.app.outdir;
    const assetDir = (name: 'read' | 'write' | 'rotate') => join(outdir, `asset.${(fn(id[name])['Code'].S3Key as string).replace(/\.zip$/, '')}`);
    for (const name of ['read', 'write', 'rotate'] as const) {
      const dir = assetDir(name);

      it(`${name}: minified ESM, an index.mjs and its chunks, linked source maps, the AWS SDK inside`, () => {
        const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
        const lines = code.split('\n').length;
        assert.ok(code.length / lines > 100, `minified (${code.length} bytes on ${lines} lines)`);
        for (const file of moduleFiles(dir)) {
          const text = readFileSync(join(dir, file), 'utf8');
          assert.match(text.trimEnd(), new RegExp(`//# sourceMappingURL=${basename(file).replace('.', '\\.')}\\.map$`), file);
          const map = JSON.parse(readFileSync(join(dir, `${file}.map`), 'utf8'));
          assert.equal(map.sourcesContent, undefined, `no sources shipped in ${file}.map`);
          assert.doesNotMatch(text, /from\s*["']@aws-sdk\//, `SDK bundled, not taken from the runtime (${file})`);
        }
        assert.ok(moduleFiles(dir).length > 1, 'split into chunks');
        assert.equal(fn(id[name])['Handler'], 'index.handler');
      });

      it(`${name}: the bundle loads and exports handler`, async () => {
        const mod = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler?: unknown };
        assert.equal(typeof mod.handler, 'function');
      });
    }
    for (const name of ['read', 'write'] as const) {
      it(`${name}: a cold start reads only the route table and the router, never the AWS SDK or a handler (docs/layout.md)`, () => {
        const dir = assetDir(name);
        const files = readAtColdStart(dir);
        const bytes = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
        // Today about 14 KiB; the SDK alone is hundreds.
        assert.ok(bytes < 48 * 1024, `a cold start reads ${bytes} bytes: ${files.join(', ')}`);
        const lazy = moduleFiles(dir).filter((f) => !files.includes(f));
        assert.ok(
          lazy.some((f) => /^chunks\/deps-/.test(f)),
          `the wiring (deps.ts) is a chunk of its own, loaded on first use: ${lazy.join(', ')}`,
        );
      });
    }
    it('the read side carries the page at /ui, built from ui/, in a chunk a cold start does not read; the others do not carry it', () => {
      const withPage = (name: 'read' | 'write' | 'rotate') =>
        moduleFiles(assetDir(name)).filter((f) => /<title>Blob server: upload<\/title>/.test(readFileSync(join(assetDir(name), f), 'utf8')));
      const [page] = withPage('read');
      assert.ok(page, 'no file of the read bundle holds the page');
      assert.match(readFileSync(join(assetDir('read'), page), 'utf8'), /blobserver-ui-unfinished/, 'the page script is inline');
      assert.ok(!readAtColdStart(assetDir('read')).includes(page), `${page} is read at every cold start`);
      for (const other of ['write', 'rotate'] as const) assert.deepEqual(withPage(other), []);
    });
    it('the asset directories exist where the template points', () => {
      for (const name of ['read', 'write', 'rotate'] as const) {
        assert.ok(existsSync(join(outdir, `asset.${(fn(id[name])['Code'].S3Key as string).replace(/\.zip$/, '')}`)));
      }
    });
  });
});

describe('least privilege', () => {
  const secrets = grants(['secretsmanager:GetSecretValue'], ['credentials', 'signingKey']);

  it('read side: row reads and shard queries on the table, blob and pack reads, the storage generation (create only if absent), signing upload forms into staging/, its secrets, its logs; nothing else', () => {
    assert.deepEqual(
      permissionsOf(json, id.readRole, names),
      [
        ...grants(['logs:CreateLogStream', 'logs:PutLogEvents'], ['readLogs']),
        ...grants(['dynamodb:BatchGetItem', 'dynamodb:Query'], ['table']),
        ...grants(['s3:GetObject'], [blobObjects, packObjects, generationObject, nsBlobObjects, nsPackObjects, nsGenerationObject]),
        `s3:PutObject ${generationObject} if {"StringEquals":{"s3:if-none-match":"*"}}`,
        `s3:PutObject ${nsGenerationObject} if {"StringEquals":{"s3:if-none-match":"*"}}`,
        // Only to learn that a key it reads is missing (404, not 403): the prefixes it reads, nothing else.
        `s3:ListBucket bucket if {"StringLike":{"s3:prefix":["${BLOB_PREFIX}*","ns/*/${BLOB_PREFIX}*","${PACK_PREFIX}*","ns/*/${PACK_PREFIX}*","${GENERATION_KEY}","ns/*/${GENERATION_KEY}"]}}`,
        // A presigned POST carries its signer's rights: the read side mints uploadForms.
        ...grants(['s3:PutObject'], [stagedObjects]),
        ...secrets,
      ].sort(),
    );
  });

  it('write side: puts (and heads) objects under blobs/ and packs/, batch-writes and reads rows, its secrets; reads, signs and deletes only staged uploads', () => {
    assert.deepEqual(
      permissionsOf(json, id.writeRole, names),
      [
        ...grants(['logs:CreateLogStream', 'logs:PutLogEvents'], ['writeLogs']),
        ...grants(['s3:PutObject', 's3:GetObject'], [blobObjects, packObjects, nsBlobObjects, nsPackObjects]),
        ...grants(['dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], ['table']),
        ...grants(['s3:GetObject', 's3:DeleteObject', 's3:PutObject'], [stagedObjects]),
        `s3:ListBucket bucket if {"StringLike":{"s3:prefix":["${BLOB_PREFIX}*","ns/*/${BLOB_PREFIX}*","${PACK_PREFIX}*","ns/*/${PACK_PREFIX}*","${STAGING_PREFIX}*"]}}`,
        ...secrets,
      ].sort(),
    );
  });

  it('rotation function: only the rotation calls, only on the signing key', () => {
    assert.deepEqual(
      permissionsOf(json, id.rotateRole, names),
      [
        ...grants(['logs:CreateLogStream', 'logs:PutLogEvents'], ['rotateLogs']),
        ...grants(
          ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
          ['signingKey'],
        ),
      ].sort(),
    );
  });

  it('no role anywhere may delete a blob or a row (only the write side, staged uploads; and the collector, test/infra/collection.test.ts), and no action is a wildcard', () => {
    for (const [roleId] of resourcesOfType(json, 'AWS::IAM::Role')) {
      for (const line of permissionsOf(json, roleId, names)) {
        const allowed =
          (roleId === id.writeRole && line === `s3:DeleteObject ${stagedObjects}`) ||
          roleId === logicalId(stack.collection.collector.role) ||
          // Step Functions' own log delivery configuration (CloudWatch Logs), not data.
          (roleId === logicalId(stack.collection.stateMachine.role) && line === 'logs:DeleteLogDelivery *');
        if (!allowed) assert.doesNotMatch(line, /Delete/, `${roleId}: ${line}`);
        assert.doesNotMatch(line.split(' ')[0]!, /\*/, `${roleId}: ${line}`);
        assert.doesNotMatch(line, /^managed-policy/, `${roleId}: ${line}`);
      }
    }
  });

  it('each function runs as its own role', () => {
    assert.deepEqual(
      [id.read, id.write, id.rotate].map((l) => fn(l)['Role']['Fn::GetAtt'][0]),
      [id.readRole, id.writeRole, id.rotateRole],
    );
  });
});

describe('HTTP API', () => {
  const integrationOf = (routeProps: Record<string, any>): Resource => {
    const target = routeProps['Target']['Fn::Join'][1] as unknown[];
    assert.equal(target[0], 'integrations/');
    return resourceOf(json, (target[1] as { Ref: string }).Ref);
  };
  const routes = resourcesOfType(json, 'AWS::ApiGatewayV2::Route');

  it('has exactly the routes of lambda/routes.ts', () => {
    assert.deepEqual(routes.map(([, r]) => r.Properties!['RouteKey']).sort(), ROUTES.map(routeKey).sort());
  });

  for (const route of ROUTES) {
    it(`${routeKey(route)} goes to the ${route.side} side (payload v2)`, () => {
      const found = routes.find(([, r]) => r.Properties!['RouteKey'] === routeKey(route));
      assert.ok(found, 'route exists');
      assert.deepEqual(found[1].Properties!['ApiId'], { Ref: id.api });
      const integration = integrationOf(found[1].Properties!).Properties!;
      assert.equal(integration['IntegrationType'], 'AWS_PROXY');
      assert.equal(integration['PayloadFormatVersion'], '2.0');
      assert.deepEqual(integration['IntegrationUri'], { 'Fn::GetAtt': [route.side === 'read' ? id.read : id.write, 'Arn'] });
    });
  }

  it('one auto-deployed $default stage with throttling and JSON access logs that omit the path', () => {
    const stages = resourcesOfType(json, 'AWS::ApiGatewayV2::Stage');
    assert.equal(stages.length, 1);
    const p = stages[0]![1].Properties!;
    assert.equal(p['StageName'], '$default');
    assert.equal(p['AutoDeploy'], true);
    assert.deepEqual(p['DefaultRouteSettings'], { ThrottlingBurstLimit: 1000, ThrottlingRateLimit: 500 });
    assert.deepEqual(p['AccessLogSettings'].DestinationArn, { 'Fn::GetAtt': [id.accessLogGroup, 'Arn'] });
    const format = JSON.parse(p['AccessLogSettings'].Format);
    assert.equal(format.requestId, '$context.requestId');
    assert.equal(format.status, '$context.status');
    assert.doesNotMatch(p['AccessLogSettings'].Format, /\$context\.path/, 'upload URLs are capabilities: keep them out of logs');
    assert.equal(propertiesOf(json, id.accessLogGroup)['RetentionInDays'], 30);
  });

  it('no CORS unless origins are configured (API and bucket)', () => {
    assert.equal(propertiesOf(json, id.api)['CorsConfiguration'], undefined);
    assert.equal(propertiesOf(json, id.bucket)['CorsConfiguration'], undefined);
  });

  it('the upload-completion route S3 redirects to is a GET on the write side', () => {
    assert.ok(ROUTES.some((r) => r.method === 'GET' && r.path === '/camli/upload-complete/{token}' && r.side === 'write'));
  });
});

describe('alarms and outputs', () => {
  const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
  const find = (metric: string, dim: unknown) =>
    alarms.filter((a) => a['MetricName'] === metric && (a['Dimensions'] as any[]).some((d) => JSON.stringify(d.Value) === JSON.stringify(dim)));

  it('alarms on API 5xx of the stage', () => {
    const a = find('5xx', { Ref: id.api });
    assert.equal(a.length, 1);
    assert.equal(a[0]!['Namespace'], 'AWS/ApiGateway');
    assert.ok((a[0]!['Dimensions'] as any[]).some((d) => d.Name === 'Stage' && d.Value === '$default'));
    assert.equal(a[0]!['Threshold'], 1);
    assert.equal(a[0]!['ComparisonOperator'], 'GreaterThanOrEqualToThreshold');
  });

  for (const name of ['read', 'write', 'rotate'] as const) {
    it(`alarms on ${name} function errors and throttles`, () => {
      assert.equal(find('Errors', { Ref: id[name] }).length, 1);
      assert.equal(find('Throttles', { Ref: id[name] }).length, 1);
    });
  }

  it('outputs the API URL and the credentials secret name', () => {
    const outputs = json.Outputs!;
    assert.match(JSON.stringify(outputs['ApiUrl']?.Value), new RegExp(`"Ref":"${id.api}".*execute-api`));
    assert.match(JSON.stringify(outputs['CredentialsSecretName']?.Value), new RegExp(`"Ref":"${id.credentials}"`));
  });
});

describe('cdk.json', () => {
  it('runs the app through tsx, with the feature flags the tests synthesize with', () => {
    assert.match(CDK_JSON.app, /tsx.*infra\/app\.ts/);
    assert.equal(CDK_JSON.context['@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy'], true);
  });
});
