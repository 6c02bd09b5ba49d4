import { after } from 'node:test';
import { deployedSkip, openDeployedStack } from '../support/deployed-target.js';
import { definePerkeepSuite } from './perkeep.suite.js';

/**
 * Perkeep's protocol against the stack as `cdk synth` builds it (the bundles in cdk.out in AWS's
 * Lambda Runtime Interface Emulator, the template's routes, the dynamodb-local+localstack
 * emulators), as the remote lane runs it: tests that need the local server's proxies or
 * siblings with other settings report skipped.
 */
const skip = deployedSkip();
const stack = skip ? undefined : await openDeployedStack();
after(() => stack?.close());
definePerkeepSuite({
  kind: 'remote',
  name: 'deployed artifacts (cdk.out in the Lambda RIE, template routes)',
  url: stack?.url,
  authorization: stack?.authorization,
  skip,
});
