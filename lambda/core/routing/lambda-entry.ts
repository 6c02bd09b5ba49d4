import type { Context } from 'aws-lambda';
import { readConfig } from '../config.js';
import type { Deps } from '../deps.js';
import type { Handler, HttpEvent } from '../http/http.js';
import type { Tracer } from '../telemetry.js';

/**
 * A Lambda entry point over a router built from deps. Configuration comes from the function's
 * environment; clients and secrets are built on the first invocation and reused while warm.
 * The wiring (deps.ts, and through it the AWS SDK and Powertools) is loaded then too, not
 * when the runtime imports the bundle: a cold start evaluates only this, the route table and
 * the router (docs/layout.md, "What loads when").
 * The first invocation also records a ColdStart metric (per function: the stack's dashboard
 * graphs it). With tracing on (the stack's `tracing` context), each invocation is an X-Ray
 * subsegment annotated with its route and whether it was a cold start.
 */
export function lambdaEntry(build: (deps: Deps) => Handler) {
  let started: Promise<{ deps: Deps; app: Handler; tracer: Tracer | undefined }> | undefined;
  const start = async (context: Context | undefined) => {
    const config = readConfig();
    // The tracer first (when tracing is on): createDeps captures the SDK clients with it.
    const [{ createDeps }, tracer] = await Promise.all([import('../deps.js'), import('../telemetry.js').then((m) => m.loadTracer(config.telemetry))]);
    const deps = createDeps(config);
    deps.metrics?.captureColdStartMetric(context?.functionName);
    return { deps, app: build(deps), tracer };
  };
  return async (event: HttpEvent, context?: Context) => {
    // A failed start (a bad setting) is not kept: the next invocation reads the environment again.
    started ??= start(context).catch((err: unknown) => {
      started = undefined;
      throw err;
    });
    const { deps, app, tracer } = await started;
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
