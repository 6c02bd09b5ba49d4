import type { Deps } from './core/deps.js';
import type { Handler } from './core/http/http.js';
import { lambdaEntry } from './core/routing/lambda-entry.js';
import { READ_HANDLERS } from './handlers/read-side.js';
import { createSide } from './sides.js';

/** The read side: answers from the index and mints upload URLs; never writes blob data. */
export function createReadSide(deps: Deps): Handler {
  return createSide('read', READ_HANDLERS, deps);
}

/** Lambda entry point. */
export const handler = lambdaEntry(createReadSide);
