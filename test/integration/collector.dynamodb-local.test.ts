import { lane } from '../support/test-server.js';
import { defineCollectorSuite } from './collector.suite.js';

/** The scheduled collector on dynamodb-local+s3rver. */
defineCollectorSuite(lane('dynamodb-local+s3rver'));
