import { deployedSkip, openDeployedStack } from '../support/deployed-target.js';
import { defineCredentialsSuite } from './credentials.suite.js';

/**
 * Scoped credentials against the stack as `cdk synth` builds it: the read and write bundles in
 * the Lambda RIE behind the template's routes, each function its own process with its own
 * credential cache (the write side revokes, the read side measures the bound). The functions run
 * with the template's environment and a revocation bound of 3 s instead of 60 (the one setting
 * laid over it), so the measurement takes seconds; removal is off, as a deployment's default.
 */
const BOUND = 3;
defineCredentialsSuite('deployed artifacts (cdk.out in the Lambda RIE, template routes)', deployedSkip(), async () => {
  const d = await openDeployedStack({ BLOBSERVER_CREDENTIAL_CACHE_SECONDS: String(BOUND) });
  return { url: d.url, ownerAuth: d.authorization, boundSeconds: BOUND, allowRemove: false, close: () => d.close() };
});
