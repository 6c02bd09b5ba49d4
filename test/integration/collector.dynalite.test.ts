import { lane } from '../support/test-server.js';
import { defineCollectorSuite } from './collector.suite.js';

/** The scheduled collector on dynalite+s3rver. */
defineCollectorSuite(lane('dynalite+s3rver'));
