import { lane } from '../support/test-server.js';
import { localTargetSpec } from '../support/target.js';
import { defineSeedSuite } from './seed.suite.js';

/**
 * The seed protocol against a local server on AWS's DynamoDB Local (Java) + s3rver. Runs
 * under `npm test`, which isolates it in a loopback-only network namespace.
 */
defineSeedSuite(localTargetSpec(lane('dynamodb-local+s3rver')));
