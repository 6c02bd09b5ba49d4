import { deployedTargetSpec } from '../support/deployed-target.js';
import { defineSeedSuite } from './seed.suite.js';

/**
 * The seed protocol against the stack as `cdk synth` builds it: the bundles in cdk.out run in
 * AWS's Lambda Runtime Interface Emulator, behind an API Gateway front routing by the
 * template's route keys, on the dynamodb-local+localstack emulators. Tests that restart the
 * server, change its settings or rotate its key report skipped (a deployment cannot).
 */
defineSeedSuite(deployedTargetSpec());
