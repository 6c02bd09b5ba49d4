import type { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A checkov finding this design accepts, with why (test/infra/checkov.test.ts runs checkov and requires every one). */
export interface CheckovSkip {
  id: string;
  comment: string;
}

/**
 * Suppresses checkov checks on one resource, in its CloudFormation metadata (`Metadata.checkov.skip`,
 * which checkov reads), the way Validations.acknowledge() records cdk-nag's: one place per
 * resource, next to the code that makes the choice, each with its reason.
 */
export function skipCheckov(construct: IConstruct, ...skips: CheckovSkip[]): void {
  const resource = (construct.node.defaultChild ?? construct) as CfnResource;
  const existing = (resource.getMetadata('checkov') as { skip?: CheckovSkip[] } | undefined)?.skip ?? [];
  resource.addMetadata('checkov', { skip: [...existing, ...skips] });
}

/** Why a function has no dead-letter queue and no VPC: shared by every function of the stack. */
export const FUNCTION_SKIPS: CheckovSkip[] = [
  {
    id: 'CKV_AWS_116',
    comment:
      'No asynchronous invocations: API Gateway and Step Functions invoke synchronously and see the error (the client retries, the state machine retries and alarms), Secrets Manager retries a failed rotation; a DLQ would never receive anything.',
  },
  {
    id: 'CKV_AWS_117',
    comment:
      'Talks only to S3, DynamoDB and Secrets Manager over TLS with IAM-signed requests, and reaches no private resource: a VPC would add NAT gateway or interface endpoint costs (about $7-$32 a month each) and cold-start latency and isolate nothing.',
  },
  {
    id: 'CKV_AWS_173',
    comment:
      'The environment holds no secret, only resource names, secret ARNs and limits (secrets are read from Secrets Manager at run time); Lambda encrypts it at rest with its AWS-managed key.',
  },
];

/** kmsKey=none is a supported choice: each resource left under an AWS key says so. */
export const NO_CMK = (what: string): string =>
  `kmsKey=none (the default) leaves ${what} under an AWS-owned or AWS-managed key at no cost; kmsKey=create or a key ARN puts it under a customer-managed key (docs/deploy.md, Settings).`;
