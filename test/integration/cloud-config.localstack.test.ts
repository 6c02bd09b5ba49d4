import { lane } from '../support/test-server.js';
import { defineCloudConfigSuite } from './cloud-config.suite.js';

/** The cloud configuration (secrets, signing-key rotation) on LocalStack's Secrets Manager. */
defineCloudConfigSuite(lane('dynamodb-local+localstack'));
