import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLOB_PREFIX, PACK_PREFIX, STAGING_PREFIX, FSCK_RUNS_PREFIX } from '../../lambda/core/storage/object-keys.js';
import { COLLECTION_CONCURRENCY, COLLECTOR_MEMORY_MB, COLLECTOR_TIMEOUT, DAMAGE_METRIC } from '../../infra/collection.js';
import { ENTRIES } from '../../infra/bundling.js';
import { grants, logicalId, onlyOfType, permissionsOf, propertiesOf, resourcesOfType, synth, type TemplateJson } from './helpers.js';

/** Scheduled collection in the stack (infra/collection.ts): schedule, state machine, collector grants, alarms. */

const s = synth();
const { stack, json } = s;
const id = {
  bucket: logicalId(stack.storage.bucket),
  table: logicalId(stack.storage.table),
  collector: logicalId(stack.collection.collector.fn),
  collectorRole: logicalId(stack.collection.collector.role),
  stateMachine: logicalId(stack.collection.stateMachine),
};
const names: Record<string, string> = { [id.bucket]: 'bucket', [id.table]: 'table', [logicalId(stack.collection.collector.logGroup)]: 'collectorLogs' };

/** The state machine's Amazon States Language, with the function ARN intrinsic rendered as "COLLECTOR". */
function definitionOf(t: TemplateJson, smId: string): any {
  const parts = propertiesOf(t, smId)['DefinitionString']['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : (p as any)['Fn::GetAtt']?.[0] === id.collector ? 'COLLECTOR' : JSON.stringify(p))).join(''));
}

describe('scheduled collection', () => {
  it('an EventBridge Scheduler schedule starts the state machine daily by default', () => {
    const schedules = resourcesOfType(json, 'AWS::Scheduler::Schedule');
    assert.equal(schedules.length, 1);
    const p = schedules[0]![1].Properties!;
    assert.equal(p['ScheduleExpression'], 'rate(1 day)');
    assert.equal(p['State'], 'ENABLED');
    assert.deepEqual(p['Target'].Arn, { Ref: id.stateMachine });
    // Its role may start this state machine and nothing else.
    const roleId = p['Target'].RoleArn['Fn::GetAtt'][0];
    assert.deepEqual(permissionsOf(json, roleId, { [id.stateMachine]: 'stateMachine' }), ['states:StartExecution stateMachine']);
  });

  it('the state machine: plan, a Map over the row partitions, the pack days, a Map over them, finish; each piece the collector', () => {
    const asl = definitionOf(json, id.stateMachine);
    const order: string[] = [];
    for (let state = asl.StartAt; state; state = asl.States[state].Next) order.push(state);
    assert.deepEqual(order, ['Plan', 'AuditRowPartitions', 'PlanPackDays', 'AuditPackDays', 'Finish']);
    const task = (st: any) => {
      assert.equal(st.Type, 'Task');
      assert.equal(st.Resource, 'COLLECTOR', 'a piece is an invocation of the collector function');
      return st;
    };
    assert.deepEqual(task(asl.States.Plan).Parameters, { action: 'plan' });
    assert.deepEqual(task(asl.States.PlanPackDays).Parameters, { action: 'days', 'run.$': '$.run' });
    assert.deepEqual(task(asl.States.Finish).Parameters, { action: 'finish', 'run.$': '$.run' });
    for (const [mapName, itemsPath, item, action] of [
      ['AuditRowPartitions', '$.partitions', 'prefix.$', 'rows'],
      ['AuditPackDays', '$.days', 'day.$', 'packs'],
    ] as const) {
      const map = asl.States[mapName];
      assert.equal(map.Type, 'Map');
      assert.equal(map.ItemsPath, itemsPath);
      assert.deepEqual(map.ItemSelector, { action, 'run.$': '$.run', [item]: '$$.Map.Item.Value' });
      assert.equal(map.MaxConcurrency, COLLECTION_CONCURRENCY);
      assert.equal(map.ResultPath, null, "the pieces' results must not grow the execution state");
      const inner = map.ItemProcessor.States[map.ItemProcessor.StartAt];
      task(inner);
      assert.equal(inner.Parameters, undefined, 'a piece gets its item as it is');
      assert.ok(
        inner.Retry.some((r: any) => r.ErrorEquals.includes('States.TaskFailed')),
        'a failed piece is retried',
      );
    }
    const sm = propertiesOf(json, id.stateMachine);
    assert.equal(sm['TracingConfiguration'].Enabled, true);
    assert.equal(sm['LoggingConfiguration'].Level, 'ALL');
    // Its role invokes the collector and nothing else (the rest is its own logs and traces).
    const invokes = permissionsOf(json, logicalId(stack.collection.stateMachine.role), { [id.collector]: 'collector' }).filter((l) => l.startsWith('lambda:'));
    assert.deepEqual(invokes, ['lambda:InvokeFunction collector', 'lambda:InvokeFunction collector:*']);
  });

  it('the collector: a function bundled like the others, bounded memory, well inside 15 min', () => {
    assert.equal(ENTRIES.collect, 'lambda/collect.ts');
    const p = propertiesOf(json, id.collector);
    assert.equal(p['Handler'], 'index.handler');
    assert.equal(p['Runtime'], propertiesOf(json, logicalId(stack.functions.read.fn))['Runtime']);
    assert.deepEqual(p['Architectures'], ['arm64']);
    assert.equal(p['MemorySize'], COLLECTOR_MEMORY_MB);
    assert.equal(p['Timeout'], COLLECTOR_TIMEOUT.toSeconds());
    assert.ok(p['Timeout'] <= 600);
    assert.equal(p['Environment'].Variables.BLOBSERVER_TABLE.Ref, id.table);
    assert.equal(p['Environment'].Variables.BLOBSERVER_FSCK_GRACE_SECONDS, '3600');
    assert.deepEqual(p['Role']['Fn::GetAtt'], [id.collectorRole, 'Arn']);
    // Only the state machine invokes it: it has no resource policy, and the state machine role may invoke only it.
    assert.equal(
      resourcesOfType(json, 'AWS::Lambda::Permission').filter(([, r]) => r.Properties!['FunctionName']?.['Fn::GetAtt']?.[0] === id.collector).length,
      0,
    );
  });

  it('the collector role may do exactly what a piece does, and nothing in the bucket outside the store prefixes', () => {
    const o = (prefix: string) => `bucket/${prefix}*`;
    const expected = [
      ...grants(['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem'], ['table']),
      // Every namespace's blobs/ and packs/ too (DESIGN §12), and `ns/` itself, where the plan finds the namespaces.
      `s3:ListBucket bucket if ${JSON.stringify({
        StringLike: {
          's3:prefix': [
            ...[BLOB_PREFIX, PACK_PREFIX, STAGING_PREFIX, FSCK_RUNS_PREFIX].map((p) => `${p}*`),
            `ns/*/${BLOB_PREFIX}*`,
            `ns/*/${PACK_PREFIX}*`,
            'ns/',
          ],
        },
      })}`,
      ...grants(['s3:GetObject', 's3:DeleteObject'], [o(BLOB_PREFIX), o(PACK_PREFIX), o(`ns/*/${BLOB_PREFIX}`), o(`ns/*/${PACK_PREFIX}`)]),
      ...grants(['s3:PutObject'], [o(PACK_PREFIX), o(`ns/*/${PACK_PREFIX}`)]),
      ...grants(['s3:DeleteObject'], [o(STAGING_PREFIX)]),
      ...grants(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [o(FSCK_RUNS_PREFIX)]),
      // The recovery window: list and read noncurrent versions, copy one back (never delete one).
      `s3:ListBucketVersions bucket if ${JSON.stringify({ StringLike: { 's3:prefix': [BLOB_PREFIX, PACK_PREFIX, `ns/*/${BLOB_PREFIX}`, `ns/*/${PACK_PREFIX}`].map((p) => `${p}*`) } })}`,
      ...grants(['s3:GetObjectVersion', 's3:PutObject'], [o(BLOB_PREFIX), o(PACK_PREFIX), o(`ns/*/${BLOB_PREFIX}`), o(`ns/*/${PACK_PREFIX}`)]),
      ...grants(['logs:CreateLogStream', 'logs:PutLogEvents'], ['collectorLogs']),
    ].sort();
    assert.deepEqual(permissionsOf(json, id.collectorRole, names), expected);
  });

  it('alarms: a run that finds damage (the DamagedRows metric the pieces emit), and a run that fails', () => {
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties!);
    const damage = alarms.find((a) => a['MetricName'] === DAMAGE_METRIC);
    assert.ok(damage, 'no alarm on DamagedRows');
    assert.equal(damage['Namespace'], 'Blobserver');
    assert.deepEqual(damage['Dimensions'], [{ Name: 'service', Value: 'blobserver' }]);
    assert.equal(damage['Statistic'], 'Sum');
    assert.equal(damage['Threshold'], 1);
    assert.equal(damage['ComparisonOperator'], 'GreaterThanOrEqualToThreshold');
    const failed = alarms.find((a) => a['MetricName'] === 'ExecutionsFailed');
    assert.deepEqual(failed?.['Dimensions'], [{ Name: 'StateMachineArn', Value: { Ref: id.stateMachine } }]);
  });

  it('context: collectionIntervalHours sets the period; collectionEnabled=false deploys no schedule', () => {
    const hourly = synth({ collectionIntervalHours: '6' }).json;
    assert.equal(onlyOfType(hourly, 'AWS::Scheduler::Schedule').Properties!['ScheduleExpression'], 'rate(6 hours)');
    const off = synth({ collectionEnabled: 'false' }).json;
    assert.equal(resourcesOfType(off, 'AWS::Scheduler::Schedule').length, 0);
    assert.equal(resourcesOfType(off, 'AWS::StepFunctions::StateMachine').length, 1, 'the state machine stays, to be started by hand');
    assert.throws(() => synth({ collectionIntervalHours: '0' }), /collectionIntervalHours/);
  });
});
