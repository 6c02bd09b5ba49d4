import { lane } from '../support/test-server.js';
import { localTargetSpec } from '../support/target.js';
import { defineSeedSuite } from './seed.suite.js';

/** The seed protocol against a local server on dynalite + s3rver. */
defineSeedSuite(localTargetSpec(lane('dynalite+s3rver')));
