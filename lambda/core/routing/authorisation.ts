/**
 * How a caller is authorised, checked once by the router before the handler runs:
 * `basic`, the HTTP Basic credentials (anyone on an open local server); `uploadToken`, the
 * signed upload-URL token in `{token}`; `completionToken`, the upload-form completion token
 * in `{token}`. No route is public. The route table (lambda/routes.ts) names one per route;
 * authorise.ts checks each. No imports, so the CDK app reads the table without the SDK.
 */
export type Authorisation = 'basic' | 'uploadToken' | 'completionToken';
