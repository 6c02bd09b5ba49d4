import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logicalId, propertiesOf, resourcesOfType, synth, type TemplateJson } from './helpers.js';

/**
 * Operating the stack: the CloudWatch dashboard graphs what an operator asks first (the API by
 * route, the functions, DynamoDB, S3, the collection), and X-Ray tracing is off unless asked for.
 */

const off = synth();
const on = synth({ tracing: 'true' });

/** The dashboard's body with the template's tokens (Fn::Join, Ref) flattened to their names. */
function dashboardBody(json: TemplateJson): string {
  const [dashboard] = resourcesOfType(json, 'AWS::CloudWatch::Dashboard');
  assert.ok(dashboard, 'the stack has a dashboard');
  assert.equal(resourcesOfType(json, 'AWS::CloudWatch::Dashboard').length, 1);
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map(flatten).join('');
    const o = v as Record<string, unknown>;
    if ('Fn::Join' in o) return (o['Fn::Join'] as [string, unknown[]])[1].map(flatten).join((o['Fn::Join'] as [string])[0]);
    if ('Ref' in o) return `{${String(o['Ref'])}}`;
    if ('Fn::GetAtt' in o) return `{${(o['Fn::GetAtt'] as string[]).join('.')}}`;
    return JSON.stringify(o);
  };
  return flatten(dashboard[1].Properties?.['DashboardBody']);
}

/** The metrics of the graph with this title: [namespace, name, ...dimensions] rows. */
function graph(body: string, title: string): string[][] {
  const widgets = (JSON.parse(body) as { widgets: { type: string; properties: { title?: string; metrics?: unknown[][]; query?: string } }[] }).widgets;
  const w = widgets.find((x) => x.properties.title === title);
  assert.ok(w, `a widget "${title}"`);
  return (w.properties.metrics ?? []).map((row) => row.filter((x) => typeof x === 'string') as string[]);
}

describe('the dashboard', () => {
  const body = dashboardBody(off.json);
  const { stack } = off;
  const fnIds = [stack.functions.read.fn, stack.functions.write.fn, stack.secrets.rotation.fn, stack.collection.collector.fn].map(logicalId);

  it('API requests, 4xx and 5xx, latency p50/p99; and per route from the access logs', () => {
    const api = graph(body, 'API requests, 4xx, 5xx').map((r) => r[1]);
    assert.deepEqual(api, ['Count', '4xx', '5xx']);
    assert.match(body, /"AWS\/ApiGateway","Latency".*"stat":"p50".*"AWS\/ApiGateway","Latency".*"stat":"p99"/);
    const accessLogs = logicalId(stack.api.accessLogs);
    for (const title of ['Requests by route', '4xx and 5xx by route']) {
      const widget = (JSON.parse(body) as { widgets: { type: string; properties: { title?: string; query?: string } }[] }).widgets.find(
        (w) => w.properties.title === title,
      );
      assert.equal(widget?.type, 'log');
      assert.match(widget.properties.query!, new RegExp(`SOURCE '\\{${accessLogs}\\}'[\\s\\S]*by routeKey`));
      if (title.startsWith('4xx')) assert.match(widget.properties.query!, /filter status >= 400\s*\| stats count\(\*\) as responses by routeKey, status/);
    }
  });

  it('each function: duration p50/p99, concurrency, errors, throttles, cold starts', () => {
    for (const id of fnIds) {
      for (const [title, metric] of [
        ['Function duration p50 / p99 (ms)', 'Duration'],
        ['Concurrent executions (max)', 'ConcurrentExecutions'],
        ['Function errors and throttles', 'Errors'],
        ['Function errors and throttles', 'Throttles'],
      ] as const) {
        assert.ok(
          graph(body, title).some((r) => r[0] === 'AWS/Lambda' && r[1] === metric && r.includes(`{${id}}`)),
          `${title}: ${metric} of ${id}`,
        );
      }
      assert.ok(
        graph(body, 'Cold starts').some((r) => r[0] === 'Blobserver' && r[1] === 'ColdStart' && r.includes('function_name') && r.includes(`{${id}}`)),
        `cold starts of ${id}`,
      );
    }
    assert.equal(graph(body, 'Function duration p50 / p99 (ms)').length, 8);
  });

  it('DynamoDB throttles, S3 errors (the bucket publishes request metrics), collection runs and damage found', () => {
    const table = `{${logicalId(stack.storage.table)}}`;
    const ddb = graph(body, 'DynamoDB throttles and errors');
    for (const m of ['ReadThrottleEvents', 'WriteThrottleEvents'])
      assert.ok(
        ddb.some((r) => r[1] === m && r.includes(table)),
        m,
      );
    const bucket = logicalId(stack.storage.bucket);
    const s3 = graph(body, 'S3 errors');
    assert.deepEqual(
      s3.map((r) => r[1]),
      ['4xxErrors', '5xxErrors'],
    );
    assert.ok(s3.every((r) => r.includes(`{${bucket}}`) && r.includes('EntireBucket')));
    assert.deepEqual(propertiesOf(off.json, bucket)['MetricsConfigurations'], [{ Id: 'EntireBucket' }]);
    const sm = `{${logicalId(stack.collection.stateMachine)}}`;
    const runs = graph(body, 'Collection runs (per day)');
    assert.deepEqual(
      runs.map((r) => r[1]),
      ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed'],
    );
    assert.ok(runs.every((r) => r.includes(sm)));
    assert.ok(graph(body, 'Damage and garbage found (per day)').some((r) => r[0] === 'Blobserver' && r[1] === 'DamagedRows'));
  });

  it('the outputs a first deployment reads: API URL, secrets, bucket, table, log bucket, state machine, dashboard, region', () => {
    assert.deepEqual(Object.keys(off.json.Outputs ?? {}).sort(), [
      'AccessLogBucketName',
      'ApiUrl',
      'BucketName',
      'CollectionStateMachineArn',
      'CredentialsSecretName',
      'DashboardUrl',
      'Region',
      'SigningKeySecretName',
      'TableName',
    ]);
  });
});

describe('X-Ray tracing', () => {
  const functionsOf = (json: TemplateJson) =>
    resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.['Environment']?.Variables?.['POWERTOOLS_SERVICE_NAME']);
  /** The policies of the function's role. */
  const rolePolicies = (json: TemplateJson, fn: { Properties?: Record<string, any> }) => {
    const role = (fn.Properties!['Role'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    return JSON.stringify(resourcesOfType(json, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties?.['Roles']).includes(`"${role}"`)));
  };

  it('is off by default: no tracing config, no Tracer switch, no X-Ray grant', () => {
    const fns = functionsOf(off.json);
    assert.equal(fns.length, 4);
    for (const [id, f] of fns) {
      assert.equal(f.Properties?.['TracingConfig'], undefined, id);
      assert.equal(f.Properties?.['Environment'].Variables['POWERTOOLS_TRACE_ENABLED'], undefined, id);
      assert.doesNotMatch(rolePolicies(off.json, f), /xray:/, id);
    }
  });

  it('tracing=true: every function traces actively, Powertools Tracer is on, each role may write traces', () => {
    const fns = functionsOf(on.json);
    assert.equal(fns.length, 4);
    for (const [id, f] of fns) {
      assert.deepEqual(f.Properties?.['TracingConfig'], { Mode: 'Active' }, id);
      assert.equal(f.Properties?.['Environment'].Variables['POWERTOOLS_TRACE_ENABLED'], 'true', id);
      const policies = rolePolicies(on.json, f);
      for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords']) assert.ok(policies.includes(`"${action}"`), `${id}'s role: ${action}`);
    }
  });
});
