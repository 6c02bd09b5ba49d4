import { lane } from '../support/test-server.js';
import { defineNamespaceFsckSuite } from './namespaces-fsck.suite.js';

/** `npm run fsck` per namespace on dynalite+s3rver. */
defineNamespaceFsckSuite(lane('dynalite+s3rver'));
