import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs (Powertools); every entry about a request carries its request id. */
export type { Logger };

export function createLogger(): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'blobserver' });
}
