import type { Context } from 'aws-lambda';
import { readConfig } from './core/config.js';
import { createDeps, type Deps } from './core/deps.js';
import type { Handler, HttpEvent } from './core/http.js';
import { createRouter } from './core/router.js';
import { batchUploadHandler } from './batch-upload.js';
import { removeHandler } from './remove.js';
import { uploadHandler } from './upload.js';

/** The write side: parses and verifies uploads, writes S3 then the index; removes when enabled. */
export function createWriteSide(deps: Deps): Handler {
  return createRouter(
    {
      'POST /camli/upload/{token}': uploadHandler(deps),
      'POST /camli/upload': batchUploadHandler(deps),
      'POST /camli/remove': removeHandler(deps),
    },
    deps,
  );
}

let app: Handler | undefined;
let deps: Deps | undefined;

/** Lambda entry point; configuration comes from the function's environment. */
export async function handler(event: HttpEvent, context?: Context) {
  deps ??= createDeps(readConfig());
  app ??= createWriteSide(deps);
  if (context) deps.log.addContext(context);
  return app(event);
}
