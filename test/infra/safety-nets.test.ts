import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeKey, ROUTES } from '../../lambda/routes.js';
import { isUploadRoute } from '../../infra/api.js';
import { BUDGET_NOTIFICATIONS } from '../../infra/budget.js';
import {
  DEFAULT_ACCOUNT_CONCURRENCY,
  DEFAULT_SETTINGS,
  ROTATION_CONCURRENCY,
  SettingsError,
  settingsFromContext,
  UNRESERVED_CONCURRENCY_MINIMUM,
} from '../../infra/settings.js';
import { evaluate, type Statement } from '../support/iam-policy.js';
import { logicalId, onlyOfType, propertiesOf, resourceOf, resourcesOfType, synth, type Synth, type TemplateJson } from './helpers.js';

/**
 * Issue 30's settings in the synthesized template: the recovery window (versioning, noncurrent
 * expiry, no version deletes anywhere), the ceiling on the bill (reserved concurrency, the upload
 * routes' throttle, the budget) and the optional customer-managed key with its grants.
 */
const base = synth();
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0b1e2f6a-1234-4cde-9abc-0123456789ab';
const created = synth({ kmsKey: 'create', allowRemove: 'true', recoveryWindowDays: '7', budgetMonthlyUsd: '25', alarmEmail: 'owner@example.com' });
const given = synth({ kmsKey: KEY_ARN, reservedConcurrency: 'false' });

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every statement of every IAM policy and role in the template (functions, state machine, CDK's own). */
function allStatements(json: TemplateJson): Statement[] {
  const docs: any[] = [];
  for (const r of Object.values(json.Resources)) {
    if (r.Type === 'AWS::IAM::Policy') docs.push(r.Properties!['PolicyDocument']);
    if (r.Type === 'AWS::IAM::Role') docs.push(...asList<any>(r.Properties?.['Policies']).map((p) => p.PolicyDocument));
  }
  return docs.flatMap((d) => asList<Statement>(d.Statement));
}

const functionRoles = ({ stack }: Synth) => ({
  read: stack.functions.read,
  write: stack.functions.write,
  collector: stack.collection.collector,
  rotation: stack.secrets.rotation,
});

describe('the recovery window', () => {
  const rules = (s: Synth) => propertiesOf(s.json, logicalId(s.stack.storage.bucket))['LifecycleConfiguration'].Rules as any[];

  it('the blob bucket is versioned; noncurrent versions expire after recoveryWindowDays (default 30)', () => {
    for (const [s, days] of [
      [base, 30],
      [created, 7],
    ] as const) {
      const bucket = propertiesOf(s.json, logicalId(s.stack.storage.bucket));
      assert.deepEqual(bucket['VersioningConfiguration'], { Status: 'Enabled' });
      const rule = rules(s).find((r) => r.Id === 'expire-noncurrent-versions');
      assert.deepEqual(rule, {
        Id: 'expire-noncurrent-versions',
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: days },
        ExpiredObjectDeleteMarker: true,
      });
    }
  });

  it("staging and collection scratch are not the user's data: their old versions go after a day", () => {
    for (const id of ['expire-abandoned-staging', 'expire-collection-scratch']) {
      assert.deepEqual(rules(base).find((r) => r.Id === id).NoncurrentVersionExpiration, { NoncurrentDays: 1 }, id);
    }
  });

  it('no policy in the template grants s3:DeleteObjectVersion (nor any action that would match it)', () => {
    for (const s of [base, created, given]) {
      const statements = allStatements(s.json);
      assert.ok(statements.length > 10);
      const decision = evaluate(statements, { action: 's3:DeleteObjectVersion', resource: `arn:aws:s3:::bucket/blobs/x` });
      assert.equal(decision.allowed, false);
      for (const st of statements) {
        for (const a of asList(st.Action)) assert.ok(!/^s3:(\*|Delete\*|DeleteObjectVersion)$/i.test(a), `${a} in ${st.Sid ?? 'a statement'}`);
      }
    }
  });

  it('the collector may list and read versions and copy one back under blobs/ and packs/; nothing else may read versions', () => {
    const where = (s: Synth, role: { role: { node: any } }) =>
      resourcesOfType(s.json, 'AWS::IAM::Policy')
        .filter(([, r]) => asList<any>(r.Properties!['Roles']).some((x) => x.Ref === logicalId(role.role as never)))
        .flatMap(([, r]) => asList<Statement>(r.Properties!['PolicyDocument'].Statement));
    const roles = functionRoles(base);
    const versionActions = (sts: Statement[]) => sts.flatMap((st) => asList(st.Action)).filter((a) => /^s3:.*Version/.test(a));
    assert.deepEqual(versionActions(where(base, roles.collector)).sort(), ['s3:GetObjectVersion', 's3:ListBucketVersions']);
    for (const name of ['read', 'write', 'rotation'] as const) assert.deepEqual(versionActions(where(base, roles[name])), [], name);
  });
});

describe('a ceiling on the bill', () => {
  const reserved = (s: Synth) =>
    Object.fromEntries(Object.entries(functionRoles(s)).map(([name, f]) => [name, propertiesOf(s.json, logicalId(f.fn))['ReservedConcurrentExecutions']]));

  it('each function has its reserved concurrency (defaults 20 read, 10 write, 8 collector, 1 rotation), leaving the account its unreserved 100', () => {
    assert.deepEqual(reserved(base), { read: 20, write: 10, collector: 8, rotation: ROTATION_CONCURRENCY });
    const sum = Object.values(reserved(base)).reduce((a: number, b) => a + (b as number), 0);
    assert.ok(sum <= DEFAULT_ACCOUNT_CONCURRENCY - UNRESERVED_CONCURRENCY_MINIMUM);
    const custom = synth({ readConcurrency: '5', writeConcurrency: '3', collectorConcurrency: '2' });
    assert.deepEqual(reserved(custom), { read: 5, write: 3, collector: 2, rotation: 1 });
    // The collection never runs more pieces at once than its function may.
    const definition = JSON.stringify(propertiesOf(custom.json, logicalId(custom.stack.collection.stateMachine))['DefinitionString']);
    assert.match(definition, /\\"MaxConcurrency\\":2/);
  });

  it('reservedConcurrency=false reserves nothing (accounts whose quota cannot spare it)', () => {
    assert.deepEqual(reserved(given), { read: undefined, write: undefined, collector: undefined, rotation: undefined });
  });

  it('rejects reservations that would leave the account under its unreserved minimum', () => {
    const ctx = (values: Record<string, unknown>) => ({ tryGetContext: (k: string) => values[k] });
    assert.throws(() => settingsFromContext(ctx({ readConcurrency: '900' })), SettingsError);
    assert.equal(settingsFromContext(ctx({ readConcurrency: '900', reservedConcurrency: 'false' })).readConcurrency, 900);
  });

  it('the upload routes have their own, lower throttle; the rest of the API the stage default', () => {
    const uploads = ROUTES.filter(isUploadRoute).map(routeKey).sort();
    // Each in the root namespace and under /{namespace}/ (DESIGN §12): a named namespace's uploads cost the same.
    assert.deepEqual(uploads, [
      'GET /camli/upload-complete/{token}',
      'GET /{namespace}/camli/upload-complete/{token}',
      'POST /camli/upload',
      'POST /camli/upload/{token}',
      'POST /{namespace}/camli/upload',
      'POST /{namespace}/camli/upload/{token}',
    ]);
    const stage = onlyOfType(base.json, 'AWS::ApiGatewayV2::Stage').Properties!;
    assert.deepEqual(stage['DefaultRouteSettings'], {
      ThrottlingBurstLimit: DEFAULT_SETTINGS.throttleBurstLimit,
      ThrottlingRateLimit: DEFAULT_SETTINGS.throttleRateLimit,
    });
    assert.deepEqual(Object.keys(stage['RouteSettings']).sort(), uploads);
    for (const k of uploads) assert.deepEqual(stage['RouteSettings'][k], { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    // The stage is created after the routes its settings name.
    const routeIds = resourcesOfType(base.json, 'AWS::ApiGatewayV2::Route').map(([id]) => id);
    const stageDeps = resourceOf(base.json, logicalId(base.stack.api.stage)).DependsOn ?? [];
    for (const id of routeIds) assert.ok(stageDeps.includes(id), id);
    // Never above a lower stage-wide setting.
    const low = onlyOfType(synth({ throttleRateLimit: '5', throttleBurstLimit: '10' }).json, 'AWS::ApiGatewayV2::Stage').Properties!;
    assert.deepEqual(low['RouteSettings']['POST /camli/upload'], { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 });
  });

  it('budgetMonthlyUsd + alarmEmail: a monthly cost budget that mails at 80 % and 100 % spent and 100 % forecast; none by default', () => {
    assert.equal(resourcesOfType(base.json, 'AWS::Budgets::Budget').length, 0);
    const budget = onlyOfType(created.json, 'AWS::Budgets::Budget').Properties!;
    assert.deepEqual(budget['Budget'], { BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 25, Unit: 'USD' } });
    assert.deepEqual(
      budget['NotificationsWithSubscribers'].map((n: any) => [n.Notification.NotificationType, n.Notification.Threshold, n.Subscribers]),
      BUDGET_NOTIFICATIONS.map((n) => [n.notificationType, n.threshold, [{ SubscriptionType: 'EMAIL', Address: 'owner@example.com' }]]),
    );
  });

  it('a budget without anyone to tell, or a malformed e-mail, fails synth', () => {
    assert.throws(() => synth({ budgetMonthlyUsd: '25' }), SettingsError);
    assert.throws(() => synth({ budgetMonthlyUsd: '25', alarmEmail: 'not-an-address' }), SettingsError);
    assert.throws(() => synth({ budgetMonthlyUsd: 'lots', alarmEmail: 'a@b.example' }), SettingsError);
  });
});

describe('customer-managed keys (kmsKey)', () => {
  const keyRef = (s: Synth): unknown => (s === given ? KEY_ARN : { 'Fn::GetAtt': [onlyKeyId(s), 'Arn'] });
  const onlyKeyId = (s: Synth) => {
    const keys = resourcesOfType(s.json, 'AWS::KMS::Key');
    assert.equal(keys.length, 1);
    return keys[0]![0];
  };

  it('none by default: SSE-S3, and no key anywhere', () => {
    assert.equal(resourcesOfType(base.json, 'AWS::KMS::Key').length, 0);
    const enc = propertiesOf(base.json, logicalId(base.stack.storage.bucket))['BucketEncryption'];
    assert.equal(enc.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'AES256');
    assert.ok(!JSON.stringify(base.json).includes('kms:'), 'no KMS grant without a key');
  });

  it('create: one rotated key, retained with the stack, that CloudWatch Logs of this account may use', () => {
    const key = resourceOf(created.json, onlyKeyId(created));
    assert.equal(key.Properties!['EnableKeyRotation'], true);
    assert.equal(key.DeletionPolicy, 'Retain');
    const logs = key.Properties!['KeyPolicy'].Statement.find((st: any) => st.Sid === 'CloudWatchLogsOfThisAccount');
    assert.ok(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']);
  });

  for (const s of [created, given]) {
    const which = s === created ? 'created' : 'given by ARN';
    it(`${which}: bucket (with Bucket Key), table, both secrets and every log group are under the key`, () => {
      const bucket = propertiesOf(s.json, logicalId(s.stack.storage.bucket))['BucketEncryption'].ServerSideEncryptionConfiguration[0];
      assert.deepEqual(bucket, { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyRef(s) } });
      const table = propertiesOf(s.json, logicalId(s.stack.storage.table))['SSESpecification'];
      assert.deepEqual(table, { KMSMasterKeyId: keyRef(s), SSEEnabled: true, SSEType: 'KMS' });
      for (const secret of [s.stack.secrets.credentials, s.stack.secrets.signingKey]) {
        assert.deepEqual(propertiesOf(s.json, logicalId(secret))['KmsKeyId'], keyRef(s));
      }
      const groups = resourcesOfType(s.json, 'AWS::Logs::LogGroup');
      assert.equal(groups.length, 6, 'four functions, the API access log, the state machine');
      for (const [id, g] of groups) assert.deepEqual(g.Properties!['KmsKeyId'], keyRef(s), id);
    });

    it(`${which}: each function may only Decrypt/GenerateDataKey with the key, and only through the services it calls`, () => {
      const region = { Ref: 'AWS::Region' };
      const via = (svc: string) => ({ 'Fn::Join': ['', [`${svc}.`, region, '.amazonaws.com']] });
      const expected: Record<string, string[]> = {
        read: ['s3', 'dynamodb', 'secretsmanager'],
        write: ['s3', 'dynamodb', 'secretsmanager'],
        collector: ['s3', 'dynamodb'],
        rotation: ['secretsmanager'],
      };
      for (const [name, f] of Object.entries(functionRoles(s))) {
        const kms = resourcesOfType(s.json, 'AWS::IAM::Policy')
          .filter(([, r]) => asList<any>(r.Properties!['Roles']).some((x) => x.Ref === logicalId(f.role)))
          .flatMap(([, r]) => asList<any>(r.Properties!['PolicyDocument'].Statement))
          .filter((st) => asList<string>(st.Action).some((a) => a.startsWith('kms:')));
        assert.equal(kms.length, 1, name);
        assert.deepEqual(kms[0].Action, ['kms:Decrypt', 'kms:GenerateDataKey'], name);
        assert.deepEqual(kms[0].Resource, keyRef(s), name);
        assert.deepEqual(kms[0].Condition, { StringEquals: { 'kms:ViaService': expected[name]!.map(via) } }, name);
      }
    });
  }

  it('what S3, DynamoDB and Secrets Manager ask of KMS for each call a function makes is allowed, and nothing directly', () => {
    // Under SSE-KMS, S3 asks kms:GenerateDataKey for a PUT (also a presigned form's, as its signer)
    // and kms:Decrypt for a GET; DynamoDB and Secrets Manager likewise, each with kms:ViaService.
    const keyArn = KEY_ARN;
    for (const [name, f] of Object.entries(functionRoles(given))) {
      const statements = resourcesOfType(given.json, 'AWS::IAM::Policy')
        .filter(([, r]) => asList<any>(r.Properties!['Roles']).some((x) => x.Ref === logicalId(f.role)))
        .flatMap(([, r]) => asList<any>(r.Properties!['PolicyDocument'].Statement))
        .filter((st) => asList<string>(st.Action).some((a) => a.startsWith('kms:')))
        .map(
          (st) =>
            ({
              ...st,
              Condition: {
                StringEquals: {
                  'kms:ViaService': st.Condition.StringEquals['kms:ViaService'].map((v: any) => v['Fn::Join'][1][0] + 'us-east-1.amazonaws.com'),
                },
              },
            }) as Statement,
        );
      const asks = (action: string, svc?: string) =>
        evaluate(statements, { action, resource: keyArn, context: svc ? { 'kms:ViaService': `${svc}.us-east-1.amazonaws.com` } : {} }).allowed;
      const services = name === 'rotation' ? ['secretsmanager'] : name === 'collector' ? ['s3', 'dynamodb'] : ['s3', 'dynamodb', 'secretsmanager'];
      for (const svc of services) for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) assert.ok(asks(action, svc), `${name} ${action} via ${svc}`);
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:ScheduleKeyDeletion'])
        assert.ok(!asks(action), `${name} ${action} directly`);
      assert.ok(!asks('kms:Decrypt', 'ec2'), `${name} via another service`);
    }
  });

  it('an alias or anything but none, create or a key ARN fails synth', () => {
    assert.throws(() => synth({ kmsKey: 'alias/mine' }), SettingsError);
    assert.throws(() => synth({ kmsKey: 'yes' }), SettingsError);
  });
});
