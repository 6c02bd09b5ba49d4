import type { Deps } from './core/deps.js';
import type { Handler } from './core/http/http.js';
import { lambdaEntry } from './core/routing/lambda-entry.js';
import { WRITE_HANDLERS } from './handlers/write-side.js';
import { createSide } from './sides.js';

/** The write side: parses and verifies uploads, writes S3 then the index; removes when enabled. */
export function createWriteSide(deps: Deps): Handler {
  return createSide('write', WRITE_HANDLERS, deps);
}

/** Lambda entry point. */
export const handler = lambdaEntry(createWriteSide);
