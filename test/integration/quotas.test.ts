import { localTargetSpec } from '../support/target.js';
import { LANES } from '../support/test-server.js';
import { defineQuotaSuite } from './quotas.suite.js';

/** Quotas and usage per namespace (issue 27) on every emulator lane (LocalStack's is started by scripts/test.mjs). */
for (const lane of LANES) defineQuotaSuite(localTargetSpec(lane));
