import type { Context } from 'aws-lambda';
import { readConfig } from './core/config.js';
import { createDeps, type Deps } from './core/deps.js';
import type { Handler, HttpEvent } from './core/http.js';
import { createRouter } from './core/router.js';
import { preuploadHandler } from './preupload.js';

/** The read side: answers from the index and mints upload URLs; never writes blob data. */
export function createReadSide(deps: Deps): Handler {
  return createRouter({ 'POST /camli/preupload': preuploadHandler(deps) }, deps);
}

let app: Handler | undefined;
let deps: Deps | undefined;

/** Lambda entry point; configuration comes from the function's environment. */
export async function handler(event: HttpEvent, context?: Context) {
  deps ??= createDeps(readConfig());
  app ??= createReadSide(deps);
  if (context) deps.log.addContext(context);
  return app(event);
}
