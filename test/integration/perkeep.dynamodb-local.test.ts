import { lane } from '../support/test-server.js';
import { definePerkeepSuite } from './perkeep.suite.js';

/**
 * Perkeep's protocol against a local server on AWS's DynamoDB Local (Java) + s3rver. Runs
 * under `npm test`, which isolates it in a loopback-only network namespace.
 */
definePerkeepSuite({ kind: 'local', lane: lane('dynamodb-local+s3rver') });
