import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

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
 * process's HTTP modules once.
 */
export function tracerFor(env: Env): Tracer | undefined {
  if (env['POWERTOOLS_TRACE_ENABLED'] !== 'true') return undefined;
  tracer ??= new Tracer({ serviceName: env['POWERTOOLS_SERVICE_NAME'] || 'blobserver' });
  return tracer;
}
