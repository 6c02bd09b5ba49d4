import { lane } from '../support/test-server.js';
import { defineNamespaceFsckSuite } from './namespaces-fsck.suite.js';

/** `npm run fsck` per namespace on dynamodb-local+s3rver. */
defineNamespaceFsckSuite(lane('dynamodb-local+s3rver'));
