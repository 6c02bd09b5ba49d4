import { lane } from '../support/test-server.js';
import { definePerkeepSuite } from './perkeep.suite.js';

/** Perkeep's protocol against a local server on dynalite + s3rver. */
definePerkeepSuite(lane('dynalite+s3rver'));
