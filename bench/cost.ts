import type { ProxiedRequest } from '../test/support/aws-proxy.js';

/**
 * What a workload costs on the deployed stack, from the requests it made: HTTP API requests
 * (metered in 512 KB units, as AWS bills them), Lambda invocations (count, and GB-seconds from
 * each measured duration and the function's memory in the template), S3 requests by price tier,
 * DynamoDB request units, CloudWatch Logs ingestion (what the functions print and the access
 * log's line per request), and data transfer out to the internet (a restore to a machine
 * outside AWS).
 */

/**
 * AWS list prices, us-east-1, as published on AWS's pricing pages (aws.amazon.com/lambda/pricing,
 * /api-gateway/pricing, /s3/pricing, /dynamodb/pricing), read 2026-11-30.
 */
export const PRICES = {
  region: 'us-east-1',
  date: '2026-11-30',
  /** Lambda, arm64: per GB-second of duration (init included since AWS bills INIT from 2025-08-01), per request. */
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  /** HTTP API, first 300 million requests a month, metered in 512 KB increments (a 1.2 MB request is billed as 3). */
  httpApiRequest: 1.0 / 1e6,
  /** Data transfer out from AWS to the internet, first 10 TB a month (the first 100 GB a month of an account are free); in is free. */
  dataTransferOutGb: 0.09,
  /** CloudWatch Logs, standard class: ingestion per GB (storage, $0.03/GB-month, is left out: retention is 30 days). */
  logsIngestedGb: 0.5,
  /** S3 Standard: PUT, COPY, POST, LIST per request; GET (and HEAD, SELECT) per request; storage per GB-month. */
  s3Tier1: 0.005 / 1000,
  s3Tier2: 0.0004 / 1000,
  s3StorageGbMonth: 0.023,
  /** DynamoDB on-demand: per write request unit, per read request unit. */
  ddbWriteUnit: 0.625 / 1e6,
  ddbReadUnit: 0.125 / 1e6,
} as const;

export interface Usage {
  /** API requests as received. */
  apiRequests: number;
  /** API requests as billed: each 512 KB of request and response body is one more (apigw-front.ts). */
  apiMeteredRequests: number;
  /** Bytes sent from AWS to the client (response bodies, and S3 GETs of presigned URLs): billed when the client is outside AWS. */
  transferOutBytes: number;
  /** Bytes written to CloudWatch Logs: the functions' log and metric lines, the API access log. */
  logBytes: number;
  /** Per function: invocations, billed milliseconds (init + invoke, each rounded up to 1 ms) and memory. */
  functions: { name: string; invocations: number; billedMs: number; memoryMb: number }[];
  s3: { tier1: number; tier2: number; copies: number; other: number };
  ddb: { readUnits: number; writeUnits: number };
}

/** S3's price tier of a request seen in front of S3 (path-style). */
export function s3Tier(req: ProxiedRequest): 'tier1' | 'tier2' | 'other' {
  const url = new URL(req.url, 'http://s3');
  const isList = req.method === 'GET' && (url.searchParams.has('list-type') || url.pathname.split('/').filter(Boolean).length <= 1);
  if (req.method === 'PUT' || req.method === 'POST' || isList) return 'tier1';
  if (req.method === 'GET' || req.method === 'HEAD') return 'tier2';
  return 'other'; // DELETE is free
}

/** The fields of a DynamoDB request body that decide its units. */
interface DdbRequestBody {
  Item?: unknown;
  RequestItems?: Record<string, unknown>;
  TransactItems?: unknown[];
  ConsistentRead?: boolean;
}
type WriteRequest = { PutRequest?: { Item?: unknown } };
const kb = (item: unknown, unit: number) => Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(item ?? {})) / unit));

/**
 * DynamoDB request units of one request, from its body: writes 1 per KB of item (2 in a
 * transaction), reads 1 per 4 KB strongly consistent or half that eventually consistent.
 * Item sizes are taken from their JSON (a slight overestimate); a Query or Scan counts its
 * minimum (one unit), since the proxy does not read the answer's size.
 */
export function ddbUnits(req: ProxiedRequest): { read: number; write: number } {
  const body = JSON.parse(req.body.toString('utf8') || '{}') as DdbRequestBody;
  const consistent = (c: unknown) => (c ? 1 : 0.5);
  switch (req.operation) {
    case 'PutItem':
      return { read: 0, write: kb(body.Item, 1024) };
    case 'UpdateItem':
    case 'DeleteItem':
      return { read: 0, write: 1 };
    case 'BatchWriteItem': {
      let write = 0;
      for (const reqs of Object.values(body.RequestItems ?? {}) as WriteRequest[][])
        for (const r of reqs) write += r.PutRequest ? kb(r.PutRequest.Item, 1024) : 1;
      return { read: 0, write };
    }
    case 'TransactWriteItems':
      return { read: 0, write: 2 * (body.TransactItems?.length ?? 0) };
    case 'GetItem':
      return { read: consistent(body.ConsistentRead), write: 0 };
    case 'BatchGetItem': {
      let read = 0;
      for (const t of Object.values(body.RequestItems ?? {}) as { Keys?: unknown[]; ConsistentRead?: boolean }[])
        read += (t.Keys?.length ?? 0) * consistent(t.ConsistentRead);
      return { read, write: 0 };
    }
    case 'TransactGetItems':
      return { read: 2 * (body.TransactItems?.length ?? 0), write: 0 };
    case 'Query':
    case 'Scan':
      return { read: consistent(body.ConsistentRead), write: 0 };
    default:
      return { read: 0, write: 0 }; // control plane (DescribeTable, …): not billed per request
  }
}

export function s3Counts(reqs: readonly ProxiedRequest[]): Usage['s3'] {
  const out = { tier1: 0, tier2: 0, copies: 0, other: 0 };
  for (const r of reqs) {
    out[s3Tier(r)]++;
    if (r.method === 'PUT' && r.headers['x-amz-copy-source']) out.copies++;
  }
  return out;
}

export function ddbCounts(reqs: readonly ProxiedRequest[]): Usage['ddb'] {
  let readUnits = 0;
  let writeUnits = 0;
  for (const r of reqs) {
    const u = ddbUnits(r);
    readUnits += u.read;
    writeUnits += u.write;
  }
  return { readUnits, writeUnits };
}

export interface Cost {
  api: number;
  lambda: number;
  s3: number;
  ddb: number;
  /** CloudWatch Logs ingestion. */
  logs: number;
  /** Data transfer out to the internet (0 for a client inside the same AWS region). */
  transferOut: number;
  total: number;
}

/** One access-log line (infra/api.ts's ACCESS_LOG_FIELDS) as API Gateway writes it, with typical values. */
export const ACCESS_LOG_LINE_BYTES =
  Buffer.byteLength(
    JSON.stringify({
      requestId: 'CbOGNjOUoAMEbHw=',
      ip: '203.0.113.45',
      requestTime: '04/Dec/2026:00:30:00 +0000',
      routeKey: 'POST /camli/upload/{token+}',
      status: '200',
      protocol: 'HTTP/1.1',
      responseLength: '1234',
      latency: '123',
      integrationLatency: '120',
      integrationError: '-',
    }),
  ) + 1;

const GB = 1e9;

export function costOf(u: Usage): Cost {
  const api = u.apiMeteredRequests * PRICES.httpApiRequest;
  const lambda = u.functions.reduce(
    (sum, f) => sum + f.invocations * PRICES.lambdaRequest + (f.billedMs / 1000) * (f.memoryMb / 1024) * PRICES.lambdaArmGbSecond,
    0,
  );
  const s3 = u.s3.tier1 * PRICES.s3Tier1 + u.s3.tier2 * PRICES.s3Tier2;
  const ddb = u.ddb.writeUnits * PRICES.ddbWriteUnit + u.ddb.readUnits * PRICES.ddbReadUnit;
  const logs = (u.logBytes / GB) * PRICES.logsIngestedGb;
  const transferOut = (u.transferOutBytes / GB) * PRICES.dataTransferOutGb;
  return { api, lambda, s3, ddb, logs, transferOut, total: api + lambda + s3 + ddb + logs + transferOut };
}

/**
 * `u` with `lookups` more credential lookups (docs/security.md): each a strongly consistent
 * BatchGetItem of one row under 4 KB, one read request unit. A request with a stored credential
 * costs at most one; with the cache, one per function instance and credential per 60 s.
 */
export function withCredentialLookups(u: Usage, lookups: number): Usage {
  return { ...u, ddb: { ...u.ddb, readUnits: u.ddb.readUnits + lookups } };
}
