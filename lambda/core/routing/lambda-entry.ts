import type { Context } from 'aws-lambda';
import { readConfig } from '../config.js';
import { createDeps, type Deps } from '../deps.js';
import type { Handler, HttpEvent } from '../http/http.js';

/**
 * A Lambda entry point over a router built from deps. Configuration comes from the function's
 * environment; clients and secrets are built on the first invocation and reused while warm.
 */
export function lambdaEntry(build: (deps: Deps) => Handler) {
  let deps: Deps | undefined;
  let app: Handler | undefined;
  return async (event: HttpEvent, context?: Context) => {
    deps ??= createDeps(readConfig());
    app ??= build(deps);
    if (context) deps.log.addContext(context);
    return app(event);
  };
}
