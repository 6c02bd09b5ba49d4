import { pathToFileURL } from 'node:url';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SettingsError, settingsFromContext } from './settings.js';
import { BlobServerStack } from './stack.js';

/**
 * The CDK app (cdk.json runs it through tsx). Settings come from context, e.g.
 * `npx cdk deploy --context ephemeral=true --context allowRemove=true`. The stack is
 * environment-agnostic, so `cdk synth` needs no AWS account or network.
 */
export function buildApp(app = new App()): { app: App; stack: BlobServerStack } {
  const stackName = (app.node.tryGetContext('stackName') as string | undefined) || 'Blobserver';
  const stack = new BlobServerStack(app, stackName, {
    description: 'Serverless Perkeep-compatible blob server (API Gateway, Lambda, S3, DynamoDB)',
    settings: settingsFromContext(app.node),
  });
  Tags.of(stack).add('service', 'blobserver');
  // cdk-nag on every synth: an unsuppressed AwsSolutions finding fails synth and deploy.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

// Synthesize only when run as the CDK app, not when tests import buildApp().
// A setting refused (SettingsError) is one line that names the context key; cdk adds its own
// "Subprocess exited" line after it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    buildApp().app.synth();
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    console.error(`blobserver stack: ${err.message} (see docs/deploy.md#settings)`);
    process.exit(1);
  }
}
