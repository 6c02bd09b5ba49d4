import { deployedTargetSpec } from '../support/deployed-target.js';
import { defineQuotaSuite } from './quotas.suite.js';

/**
 * Quotas and usage (issue 27) against the stack as `cdk synth` builds it: the bundles in cdk.out
 * in AWS's Lambda Runtime Interface Emulator behind the template's routes (the admin routes
 * included), on the dynamodb-local+localstack emulators. Removal is off there, so the remove test
 * reports skipped.
 */
defineQuotaSuite(deployedTargetSpec());
