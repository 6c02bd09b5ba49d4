import { Duration, Stack } from 'aws-cdk-lib';
import { Dashboard as CwDashboard, GraphWidget, type IMetric, LogQueryWidget, MathExpression, Metric, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../lambda/core/telemetry.js';
import type { Api } from './api.js';
import { type BlobserverFunction, SERVICE_NAME } from './blobserver-function.js';
import { type Collection, DAMAGE_METRIC } from './collection.js';
import type { Storage } from './storage.js';

/** The period of every graph: fine enough to see a burst, coarse enough to read a day. */
export const DASHBOARD_PERIOD = Duration.minutes(5);

/** The S3 request-metrics filter the dashboard's S3 graphs read (the whole bucket). */
export const S3_METRICS_FILTER = 'EntireBucket';

export interface DashboardProps {
  api: Api;
  /** Every function of the stack, by the name the graphs show. */
  functions: Record<string, BlobserverFunction>;
  storage: Storage;
  collection: Collection;
}

/**
 * One CloudWatch dashboard for the whole service (its name is the stack's, output
 * `DashboardUrl`): the API's requests, errors and latency, and per route from the access logs
 * (Logs Insights: the stage's metrics have no route unless per-route metrics are bought for
 * each route); each function's duration, concurrency, errors, throttles and cold starts
 * (Powertools' ColdStart metric); DynamoDB throttles; S3 errors (the bucket's request
 * metrics, turned on here); the scheduled collection's runs and what they found.
 */
export class Dashboard extends Construct {
  readonly dashboard: CwDashboard;

  constructor(scope: Construct, id: string, { api, functions, storage, collection }: DashboardProps) {
    super(scope, id);
    const period = DASHBOARD_PERIOD;
    const stack = Stack.of(this);
    this.dashboard = new CwDashboard(this, 'Dashboard', { dashboardName: stack.stackName, defaultInterval: Duration.days(1) });
    const graph = (title: string, left: IMetric[], width = 8) => new GraphWidget({ title, left, width, height: 6 });
    const fns = Object.entries(functions);
    const perFunction = (make: (f: BlobserverFunction, name: string) => IMetric) => fns.map(([name, f]) => make(f, name));
    const sum = { period, statistic: 'Sum' };

    // S3 publishes request metrics (4xx, 5xx, latency) only for a bucket with a metrics configuration.
    storage.bucket.addMetric({ id: S3_METRICS_FILTER });
    const s3 = (metricName: string, label: string) =>
      new Metric({
        namespace: 'AWS/S3',
        metricName,
        dimensionsMap: { BucketName: storage.bucket.bucketName, FilterId: S3_METRICS_FILTER },
        ...sum,
        label,
      });
    const powertools = (metricName: string, label: string, dimensions: Record<string, string> = {}) =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME, ...dimensions }, ...sum, label });

    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# Blob server\nAPI, functions, storage and the scheduled collection (docs/deploy.md, "Operating it"). Per-route tables query the access logs (Logs Insights bills per GB scanned when the dashboard is opened).',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('API requests, 4xx, 5xx', [
        api.stage.metricCount({ ...sum, label: 'requests' }),
        api.stage.metricClientError({ ...sum, label: '4xx' }),
        api.stage.metricServerError({ ...sum, label: '5xx' }),
      ]),
      graph('API latency (ms)', [
        api.stage.metricLatency({ period, statistic: 'p50', label: 'latency p50' }),
        api.stage.metricLatency({ period, statistic: 'p99', label: 'latency p99' }),
        api.stage.metricIntegrationLatency({ period, statistic: 'p99', label: 'integration p99' }),
      ]),
      graph('Function errors and throttles', [
        ...perFunction((f, name) => f.fn.metricErrors({ ...sum, label: `${name} errors` })),
        ...perFunction((f, name) => f.fn.metricThrottles({ ...sum, label: `${name} throttles` })),
      ]),
    );
    this.dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Requests by route',
        logGroupNames: [api.accessLogs.logGroupName],
        queryLines: ['stats count(*) as requests, pct(latency, 50) as p50_ms, pct(latency, 99) as p99_ms by routeKey', 'sort requests desc'],
        width: 12,
        height: 6,
      }),
      new LogQueryWidget({
        title: '4xx and 5xx by route',
        logGroupNames: [api.accessLogs.logGroupName],
        queryLines: ['filter status >= 400', 'stats count(*) as responses by routeKey, status', 'sort responses desc'],
        width: 12,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      graph('Function duration p50 / p99 (ms)', [
        ...perFunction((f, name) => f.fn.metricDuration({ period, statistic: 'p50', label: `${name} p50` })),
        ...perFunction((f, name) => f.fn.metricDuration({ period, statistic: 'p99', label: `${name} p99` })),
      ]),
      graph(
        'Concurrent executions (max)',
        perFunction((f, name) => f.fn.metric('ConcurrentExecutions', { period, statistic: 'Maximum', label: name })),
      ),
      graph(
        'Cold starts',
        perFunction((f, name) => powertools('ColdStart', name, { function_name: f.fn.functionName })),
      ),
    );
    this.dashboard.addWidgets(
      graph('DynamoDB throttles and errors', [
        storage.table.metric('ReadThrottleEvents', { ...sum, label: 'read throttles' }),
        storage.table.metric('WriteThrottleEvents', { ...sum, label: 'write throttles' }),
        new MathExpression({
          expression: 'SUM(METRICS())',
          usingMetrics: Object.fromEntries(
            ['BatchGetItem', 'BatchWriteItem', 'Query', 'DeleteItem', 'PutItem'].map((op, i) => [
              `e${i}`,
              storage.table.metric('SystemErrors', { ...sum, dimensionsMap: { TableName: storage.table.tableName, Operation: op } }),
            ]),
          ),
          period,
          label: 'system errors (5xx)',
        }),
      ]),
      graph('S3 errors', [s3('4xxErrors', 'S3 4xx'), s3('5xxErrors', 'S3 5xx')]),
      graph('Blobs received and rejected', [powertools('BlobsReceived', 'blobs received'), powertools('BlobsRejected', 'blobs rejected')]),
    );
    const daily = { period: Duration.days(1), statistic: 'Sum' };
    this.dashboard.addWidgets(
      graph('Collection runs (per day)', [
        collection.stateMachine.metricStarted({ ...daily, label: 'started' }),
        collection.stateMachine.metricSucceeded({ ...daily, label: 'succeeded' }),
        collection.stateMachine.metricFailed({ ...daily, label: 'failed' }),
      ]),
      graph('Damage and garbage found (per day)', [
        powertools(DAMAGE_METRIC, 'damaged rows').with(daily),
        powertools('GarbageFound', 'garbage found').with(daily),
        powertools('ObjectsReclaimed', 'objects reclaimed').with(daily),
      ]),
      graph('Bytes reclaimed (per day)', [powertools('BytesReclaimed', 'bytes reclaimed').with(daily)]),
    );
  }

  /** The console address of the dashboard, for the stack's output. */
  url(): string {
    const stack = Stack.of(this);
    return `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${this.dashboard.dashboardName}`;
  }
}
