import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Structured JSON logs and CloudWatch metrics (EMF), both through Powertools. Every log entry
 * about a request carries its request id.
 */
export type { Logger, Metrics, Tracer };
export { MetricUnit };

/** The namespace of every metric the functions emit (the stack's alarms name it). */
export const METRICS_NAMESPACE = 'Blobserver';

type Env = Record<string, string | undefined>;

/** `env`: the Powertools settings from config.ts (readTelemetryConfig). */
export function createLogger(env: Env): Logger {
  return new Logger({
    serviceName: env['POWERTOOLS_SERVICE_NAME'] || 'blobserver',
    logLevel: (env['POWERTOOLS_LOG_LEVEL'] || env['AWS_LAMBDA_LOG_LEVEL'] || 'INFO') as 'INFO',
  });
}

/** Metrics for the Lambda functions; undefined when disabled (the local server's default). */
export function createMetrics(env: Env): Metrics | undefined {
  if (env['POWERTOOLS_METRICS_DISABLED'] === 'true') return undefined;
  return new Metrics({ namespace: env['POWERTOOLS_METRICS_NAMESPACE'] || METRICS_NAMESPACE, serviceName: env['POWERTOOLS_SERVICE_NAME'] || 'blobserver' });
}

let tracer: Tracer | undefined;

/**
 * X-Ray tracing through Powertools Tracer, only when the stack turns it on (context
 * `tracing=true` sets POWERTOOLS_TRACE_ENABLED=true and active tracing on the functions);
 * otherwise undefined, and nothing is patched or sent. One per process: it patches the
 * process's HTTP modules once. Imported only then: its aws-xray-sdk-core turns on async hooks
 * for the whole process when it loads, a cost on every promise of every request afterwards.
 * The entry points (routing/lambda-entry.ts, collect.ts, local/server.ts) await this before
 * they build clients.
 */
export async function loadTracer(env: Env): Promise<Tracer | undefined> {
  if (env['POWERTOOLS_TRACE_ENABLED'] !== 'true') return undefined;
  if (!tracer) {
    const { Tracer } = await import('@aws-lambda-powertools/tracer');
    tracer ??= new Tracer({ serviceName: env['POWERTOOLS_SERVICE_NAME'] || 'blobserver' });
  }
  return tracer;
}

/** The tracer loadTracer made, when tracing is on (the SDK clients are captured with it); undefined when off. */
export function tracerFor(env: Env): Tracer | undefined {
  if (env['POWERTOOLS_TRACE_ENABLED'] !== 'true') return undefined;
  if (!tracer) throw new Error('POWERTOOLS_TRACE_ENABLED=true, but the tracer is not loaded: await loadTracer() before building clients');
  return tracer;
}
