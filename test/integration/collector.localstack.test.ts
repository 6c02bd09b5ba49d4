import { lane } from '../support/test-server.js';
import { defineCollectorSuite } from './collector.suite.js';

/** The scheduled collector on dynamodb-local+localstack. */
defineCollectorSuite(lane('dynamodb-local+localstack'));
