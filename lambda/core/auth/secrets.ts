import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { callBounds, clientTarget } from '../aws/aws-clients.js';
import { isResourceNotFound } from '../aws/aws-errors.js';
import type { Config } from '../config.js';
import { SECRET_CACHE_SECONDS, SECRETS_MANAGER_CALL_BOUNDS } from '../limits.js';
import { tracerFor } from '../telemetry.js';

export type SecretStage = 'AWSCURRENT' | 'AWSPREVIOUS';

/**
 * Reads Secrets Manager secrets through Powertools Parameters. One provider per version stage,
 * because the provider's cache is keyed by secret name only.
 */
export class SecretReader {
  private readonly providers: Record<SecretStage, SecretsProvider>;

  constructor(config: Pick<Config, 'region' | 'endpoints' | 'credentials'> & Partial<Pick<Config, 'telemetry'>>) {
    const make = () => {
      const client = new SecretsManagerClient({
        ...clientTarget(config, config.endpoints.secretsManager),
        ...callBounds(SECRETS_MANAGER_CALL_BOUNDS),
      });
      tracerFor(config.telemetry ?? {})?.captureAWSv3Client(client);
      return new SecretsProvider({ awsSdkV3Client: client });
    };
    this.providers = { AWSCURRENT: make(), AWSPREVIOUS: make() };
  }

  /** The secret string at a version stage; undefined when that stage does not exist (never rotated). */
  async read(secretId: string, stage: SecretStage, forceFetch = false): Promise<string | undefined> {
    try {
      const value = await this.providers[stage].get(secretId, {
        maxAge: SECRET_CACHE_SECONDS,
        forceFetch,
        sdkOptions: { VersionStage: stage },
      });
      return typeof value === 'string' ? value : value === undefined ? undefined : Buffer.from(value as Uint8Array).toString('utf8');
    } catch (err) {
      // Powertools wraps the SDK's error.
      if (stage === 'AWSPREVIOUS' && isResourceNotFound((err as { cause?: unknown }).cause)) return undefined;
      throw err;
    }
  }
}
