import { lane } from '../support/test-server.js';
import { localTargetSpec } from '../support/target.js';
import { defineSeedSuite } from './seed.suite.js';

/**
 * The seed protocol against a local server on LocalStack's S3 + AWS's DynamoDB Local. Runs
 * under `npm test`, which starts LocalStack once for the run in a loopback-only namespace.
 */
defineSeedSuite(localTargetSpec(lane('dynamodb-local+localstack')));
