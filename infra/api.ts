import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpStage,
  LogGroupLogDestination,
  type CorsPreflightOptions,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { NO_CMK, skipCheckov } from './checkov.js';
import { ROUTES, routeKey, type Route, type Side } from '../lambda/routes.js';
import type { Functions } from './functions.js';
import type { BlobServerSettings } from './settings.js';

/**
 * One access-log line per request, as JSON. The route key, never the raw path: the path of
 * an upload URL is a bearer capability and must not end up in logs.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
} as const;

export interface ApiProps {
  functions: Functions;
  settings: BlobServerSettings;
  encryptionKey?: IKey | undefined;
}

/** The HTTP API: every route of lambda/routes.ts, to the function of its side. */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, { functions, settings, encryptionKey }: ApiProps) {
    super(scope, id);
    const cors = corsFor(settings.corsOrigins);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Perkeep-compatible blob server',
      createDefaultStage: false,
      ...(cors ? { corsPreflight: cors } : {}),
    });
    const integrations: Record<Side, HttpLambdaIntegration> = {
      read: new HttpLambdaIntegration('ReadSide', functions.read.fn),
      write: new HttpLambdaIntegration('WriteSide', functions.write.fn),
    };
    for (const route of ROUTES) {
      this.httpApi.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration: integrations[route.side] });
    }

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: settings.logRetention,
      ...(encryptionKey ? { encryptionKey } : {}),
      removalPolicy: settings.ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    if (!encryptionKey)
      skipCheckov(this.accessLogs, { id: 'CKV_AWS_158', comment: NO_CMK('the access log group (CloudWatch Logs encrypts every log group at rest)') });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: settings.stageName,
      autoDeploy: true,
      throttle: { rateLimit: settings.throttleRateLimit, burstLimit: settings.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    // The upload routes are the expensive ones (the write side's 1769 MB for up to maxUploadSize
    // each, S3 PUTs): a lower rate of their own, below the whole API's (docs/hardening.md).
    // (Never above the whole API's: a lower stage-wide setting lowers them too.)
    const uploadThrottle = {
      ThrottlingRateLimit: Math.min(settings.uploadThrottleRateLimit, settings.throttleRateLimit),
      ThrottlingBurstLimit: Math.min(settings.uploadThrottleBurstLimit, settings.throttleBurstLimit),
    };
    const routeSettings = Object.fromEntries(ROUTES.filter(isUploadRoute).map((r) => [routeKey(r), uploadThrottle]));
    (this.stage.node.defaultChild as CfnStage).routeSettings = routeSettings;
    // A stage's route settings name routes that must exist first.
    for (const route of this.httpApi.node.children.filter((c) => c instanceof HttpRoute)) this.stage.node.addDependency(route);

    // Acknowledged on the API, so it covers every route (routes are its children).
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Authorization happens in the functions: Perkeep clients send HTTP Basic (checked in constant time against Secrets Manager) and upload URLs carry an HMAC-signed expiring capability that no API Gateway authorizer type can verify.',
    });
  }
}

/** Routes that store blobs: a signed upload URL, a batch upload, a form upload's completion. */
export const isUploadRoute = (r: Route): boolean => UPLOAD_HANDLERS.has(r.handler);
/** By name: the write side also removes and (issue 27) sets quotas, which store nothing. */
const UPLOAD_HANDLERS: ReadonlySet<string> = new Set(['signedUpload', 'batchUpload', 'uploadComplete']);

function corsFor(origins: string[]): CorsPreflightOptions | undefined {
  if (origins.length === 0) return undefined;
  return {
    allowOrigins: origins,
    allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.HEAD, CorsHttpMethod.POST],
    allowHeaders: ['authorization', 'content-type'],
    // Browsers send the Basic credentials of a cross-origin app (local/cors.ts answers the same).
    allowCredentials: true,
    maxAge: Duration.days(1),
  };
}
