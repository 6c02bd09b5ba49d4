import { PermissionLedger, permissionLane, SIDE_TOKEN_PREFIX } from '../support/iam-lane.js';
import { reportPermissionLane } from '../support/iam-lane-report.js';
import { lane } from '../support/test-server.js';
import { defineCloudConfigSuite } from './cloud-config.suite.js';

/**
 * The cloud configuration (credentials and signing key from Secrets Manager, the rotation
 * function's four steps) with the read side, the write side and the rotation function each held
 * to its own role from the synthesized template, on LocalStack's S3 and Secrets Manager with
 * DynamoDB Local (dynamodb-local+localstack).
 */
let secrets: { credentials: string; signingKey: string } | undefined;
const ledger = new PermissionLedger({ secrets: () => secrets });
const L = permissionLane(lane('dynamodb-local+localstack'), ledger);
defineCloudConfigSuite(L, {
  onSecrets: (s) => void (secrets = s),
  rotationCredentials: { accessKeyId: 'test', secretAccessKey: 'test', sessionToken: `${SIDE_TOKEN_PREFIX}rotateSigningKey` },
});
reportPermissionLane(ledger, ['read', 'write', 'rotateSigningKey'], L.unavailable());
