import { LANES } from '../support/test-server.js';
import { defineNamespaceSuite } from './namespaces.suite.js';

/** Namespace isolation (DESIGN §12) on every emulator lane (LocalStack's is started by scripts/test.mjs). */
for (const lane of LANES) defineNamespaceSuite(lane);
