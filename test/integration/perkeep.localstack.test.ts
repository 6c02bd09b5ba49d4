import { lane } from '../support/test-server.js';
import { definePerkeepSuite } from './perkeep.suite.js';

/**
 * Perkeep's protocol against a local server on LocalStack's S3 + AWS's DynamoDB Local. Runs
 * under `npm test`, which starts LocalStack once for the run in a loopback-only namespace.
 */
definePerkeepSuite({ kind: 'local', lane: lane('dynamodb-local+localstack') });
