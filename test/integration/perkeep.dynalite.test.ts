import { lane } from '../support/test-server.js';
import { definePerkeepSuite } from './perkeep.suite.js';

/** Perkeep's protocol against a local server on dynalite + s3rver. */
definePerkeepSuite({ kind: 'local', lane: lane('dynalite+s3rver') });
