import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type CfnFunction, Tracing } from 'aws-cdk-lib/aws-lambda';
import type { BlobserverFunction } from './blobserver-function.js';

/**
 * X-Ray tracing, off by default (context `tracing=true`): active tracing on each function,
 * POWERTOOLS_TRACE_ENABLED for Powertools Tracer (lambda/core/telemetry.ts: the AWS SDK calls
 * become subsegments, each invocation is annotated with its route and cold start), and the
 * two X-Ray actions on each function's role. X-Ray bills per trace recorded and scanned
 * (docs/deploy.md, Costs), which is why it is a choice.
 */
export function enableTracing(functions: BlobserverFunction[]): void {
  for (const f of functions) {
    (f.fn.node.defaultChild as CfnFunction).tracingConfig = { mode: Tracing.ACTIVE };
    f.fn.addEnvironment('POWERTOOLS_TRACE_ENABLED', 'true');
    // The roles are our own (no managed policy), so the grant Lambda's tracing needs is explicit.
    f.role.addToPrincipalPolicy(new PolicyStatement({ sid: 'WriteTraces', actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }));
    Validations.of(f.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions (AWS documents Resource "*"); only with tracing=true.',
    });
  }
}
