import { LANES } from '../support/test-server.js';
import { localTargetSpec } from '../support/target.js';
import { defineSeedSuite } from './seed.suite.js';

/** The seed protocol against a local server on dynalite + s3rver. */
defineSeedSuite(localTargetSpec(LANES.find((l) => l.name === 'dynalite+s3rver')!));
