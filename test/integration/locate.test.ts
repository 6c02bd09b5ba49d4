import { localTargetSpec } from '../support/target.js';
import { LANES } from '../support/test-server.js';
import { defineLocateSuite } from './locate.suite.js';

/** The batch locate extension on every lane (LocalStack's is started by scripts/test.mjs). */
for (const lane of LANES) defineLocateSuite(localTargetSpec(lane));
