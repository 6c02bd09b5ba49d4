import { lane } from './test-server.js';
import { startDeployedStack, type DeployedStack } from './deployed-stack.js';
import { rieUnavailable } from './rie.js';
import { isPutObjectOf, storageProbe } from './storage.js';
import type { TargetSpec } from './target.js';

/**
 * The deployed-artifact lane: the synthesized stack's bundles in the Lambda Runtime Interface
 * Emulator behind the template's routes (test/support/deployed-stack.ts), on the
 * dynamodb-local+localstack lane's emulators (LocalStack's S3 and Secrets Manager, AWS's
 * DynamoDB Local). Outside CI a missing tool skips the lane with the reason; with CI=true the
 * lane runs and fails instead.
 */
export const DEPLOYED_LANE = lane('dynamodb-local+localstack');

const inCI = !!process.env['CI'] && process.env['CI'] !== 'false' && process.env['CI'] !== '0';

/** Why the lane cannot run here, or undefined. */
export function deployedUnavailable(): string | undefined {
  return rieUnavailable() ?? DEPLOYED_LANE.unavailable();
}

/** The reason to report the lane skipped: never under CI, where open() fails with it instead. */
export function deployedSkip(): string | undefined {
  return inCI ? undefined : deployedUnavailable();
}

export async function openDeployedStack(environment: Record<string, string> = {}): Promise<DeployedStack> {
  const why = deployedUnavailable();
  if (why) throw new Error(`the deployed-artifact lane cannot run: ${why}`);
  return startDeployedStack(DEPLOYED_LANE.factory, environment);
}

export function deployedTargetSpec(): TargetSpec {
  return {
    name: 'deployed artifacts (cdk.out in the Lambda RIE, template routes)',
    unavailable: deployedSkip(),
    authenticated: true,
    // LocalStack's S3 enforces presigned POST policies; the lane reads storage directly.
    capabilities: ['storage', 'enforcesPostPolicy'],
    open: async () => {
      const d = await openDeployedStack();
      return {
        url: d.url,
        authorization: d.authorization,
        expected: d.settings,
        storage: {
          ...storageProbe(() => d.backend.env, d.names),
          putObjectCount: (ref) => d.proxies.s3.requests.filter((r) => isPutObjectOf(r, ref)).length,
        },
        close: () => d.close(),
      };
    },
  };
}
