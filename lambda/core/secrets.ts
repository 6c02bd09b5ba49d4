import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from './config.js';

/** Secrets are read once per cold start and then from cache, refreshed after this many seconds. */
export const SECRET_CACHE_SECONDS = 300;

export type SecretStage = 'AWSCURRENT' | 'AWSPREVIOUS';

/**
 * Reads Secrets Manager secrets through Powertools Parameters. One provider per version stage,
 * because the provider's cache is keyed by secret name only.
 */
export class SecretReader {
  private readonly providers: Record<SecretStage, SecretsProvider>;

  constructor(config: Pick<Config, 'region' | 'endpoints' | 'credentials'>) {
    const make = () =>
      new SecretsProvider({
        awsSdkV3Client: new SecretsManagerClient({ region: config.region, endpoint: config.endpoints.secretsManager, credentials: config.credentials }),
      });
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
      const cause = (err as { cause?: { name?: string } }).cause;
      if (stage === 'AWSPREVIOUS' && cause?.name === 'ResourceNotFoundException') return undefined;
      throw err;
    }
  }
}
