import type { Deps } from './core/deps.js';
import type { Handler } from './core/http.js';
import { lambdaEntry } from './core/lambda-entry.js';
import { createRouter } from './core/router.js';
import { discoveryHandler } from './discovery.js';
import { enumerateHandler } from './enumerate.js';
import { getBlobHandler } from './get-blob.js';
import { preuploadHandler } from './preupload.js';
import { statHandler } from './stat.js';
import { statusHandler } from './status.js';

/** The read side: answers from the index and mints upload URLs; never writes blob data. */
export function createReadSide(deps: Deps): Handler {
  const stat = statHandler(deps);
  const get = getBlobHandler(deps);
  return createRouter(
    {
      'POST /camli/preupload': preuploadHandler(deps),
      'GET /': discoveryHandler(deps),
      'GET /status/status.json': statusHandler(deps),
      'GET /camli/stat': stat,
      'POST /camli/stat': stat,
      'GET /camli/enumerate-blobs': enumerateHandler(deps),
      'GET /camli/{blobref}': get,
      'HEAD /camli/{blobref}': get,
    },
    deps,
  );
}

/** Lambda entry point. */
export const handler = lambdaEntry(createReadSide);
