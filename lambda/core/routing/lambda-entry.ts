import type { Context } from 'aws-lambda';
import { readConfig } from '../config.js';
import { createDeps, type Deps } from '../deps.js';
import type { Handler, HttpEvent } from '../http/http.js';
import { type Tracer, tracerFor } from '../telemetry.js';

/**
 * A Lambda entry point over a router built from deps. Configuration comes from the function's
 * environment; clients and secrets are built on the first invocation and reused while warm.
 * The first invocation also records a ColdStart metric (per function: the stack's dashboard
 * graphs it). With tracing on (the stack's `tracing` context), each invocation is an X-Ray
 * subsegment annotated with its route and whether it was a cold start.
 */
export function lambdaEntry(build: (deps: Deps) => Handler) {
  let deps: Deps | undefined;
  let app: Handler | undefined;
  let tracer: Tracer | undefined;
  return async (event: HttpEvent, context?: Context) => {
    if (!deps) {
      const config = readConfig();
      deps = createDeps(config);
      tracer = tracerFor(config.telemetry);
      deps.metrics?.captureColdStartMetric(context?.functionName);
    }
    app ??= build(deps);
    if (context) deps.log.addContext(context);
    if (!tracer) return app(event);
    // Powertools' manual instrumentation: Lambda's own segment cannot be annotated, a subsegment can.
    const segment = tracer.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${event.routeKey}`);
    if (subsegment) tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    tracer.putAnnotation('routeKey', event.routeKey);
    try {
      return await app(event);
    } catch (err) {
      tracer.addErrorAsMetadata(err as Error);
      throw err;
    } finally {
      subsegment?.close();
      if (segment) tracer.setSegment(segment);
    }
  };
}
