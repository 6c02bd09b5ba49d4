import type { Deps } from './core/deps.js';
import type { Handler } from './core/http.js';
import { lambdaEntry } from './core/lambda-entry.js';
import { createRouter } from './core/router.js';
import { batchUploadHandler } from './batch-upload.js';
import { removeHandler } from './remove.js';
import { uploadHandler } from './upload.js';
import { uploadCompleteHandler } from './upload-complete.js';

/** The write side: parses and verifies uploads, writes S3 then the index; removes when enabled. */
export function createWriteSide(deps: Deps): Handler {
  return createRouter(
    {
      'POST /camli/upload/{token}': uploadHandler(deps),
      'GET /camli/upload-complete/{token}': uploadCompleteHandler(deps),
      'POST /camli/upload': batchUploadHandler(deps),
      'POST /camli/remove': removeHandler(deps),
    },
    deps,
  );
}

/** Lambda entry point. */
export const handler = lambdaEntry(createWriteSide);
