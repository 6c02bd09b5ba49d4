import { lane } from '../support/test-server.js';
import { defineNamespaceFsckSuite } from './namespaces-fsck.suite.js';

/** `npm run fsck` per namespace on dynamodb-local+localstack. */
defineNamespaceFsckSuite(lane('dynamodb-local+localstack'));
