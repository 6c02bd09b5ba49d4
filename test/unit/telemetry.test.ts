import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { HttpError } from '../../lambda/core/http/errors.js';
import { json, type HttpEvent } from '../../lambda/core/http/http.js';
import { createRouter } from '../../lambda/core/routing/router.js';
import { createLogger, createMetrics, loadTracer, tracerFor, type Metrics } from '../../lambda/core/telemetry.js';

function fakeMetrics() {
  const addMetric = mock.fn();
  const publishStoredMetrics = mock.fn();
  return { metrics: { addMetric, publishStoredMetrics } as unknown as Metrics, addMetric, publishStoredMetrics };
}

const event = (routeKey: string) => ({ routeKey, requestContext: { requestId: 'req-1' } }) as unknown as HttpEvent;
const names = (fn: ReturnType<typeof mock.fn>) => fn.mock.calls.map((c) => String(c.arguments[0]));

describe('request metrics', () => {
  const log = createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' });
  const routes = {
    'GET /ok': async () => json(200, {}),
    'GET /bad': async () => {
      throw new HttpError(400, 'invalid_limit', 'bad');
    },
    'GET /boom': async () => {
      throw new Error('boom');
    },
  };

  it('counts every request with its latency and publishes once per request', async () => {
    const m = fakeMetrics();
    await createRouter(routes, { log, metrics: m.metrics })(event('GET /ok'));
    assert.deepEqual(names(m.addMetric), ['Requests', 'Latency']);
    assert.equal(m.publishStoredMetrics.mock.callCount(), 1);
  });

  it('counts 4xx as ClientErrors and 5xx as ServerErrors', async () => {
    const m = fakeMetrics();
    const router = createRouter(routes, { log, metrics: m.metrics });
    assert.equal((await router(event('GET /bad'))).statusCode, 400);
    assert.equal((await router(event('GET /boom'))).statusCode, 500);
    assert.deepEqual(
      names(m.addMetric).filter((n) => n.endsWith('Errors')),
      ['ClientErrors', 'ServerErrors'],
    );
  });

  it('records nothing when metrics are disabled', async () => {
    assert.equal(createMetrics({ POWERTOOLS_METRICS_DISABLED: 'true' }), undefined);
    assert.ok(createMetrics({}));
    assert.equal((await createRouter(routes, { log })(event('GET /ok'))).statusCode, 200);
  });
});

describe('logger configuration', () => {
  it('takes its level from the environment it is given, not only process.env', () => {
    assert.equal(createLogger({ POWERTOOLS_LOG_LEVEL: 'ERROR' }).getLevelName(), 'ERROR');
    assert.equal(createLogger({}).getLevelName(), 'INFO');
  });
});

describe('upload metrics', () => {
  it('records blobs received, their bytes and the parts refused', async () => {
    const { receiveUpload } = await import('../../lambda/core/upload/upload-request.js');
    const { multipartBody } = await import('../support/test-server.js');
    const { blobRefOf } = await import('../../lambda/core/blobref.js');
    const { DEFAULT_MAX_UPLOAD_SIZE, MAX_BLOB_SIZE } = await import('../../lambda/core/limits.js');
    const good = Buffer.from('twelve bytes');
    const { body, contentType } = multipartBody([
      { name: blobRefOf(good), data: good },
      { name: blobRefOf(Buffer.from('other')), data: 'lie' },
    ]);
    const { BlobStorage } = await import('../../lambda/core/storage/blob-storage.js');
    const { MemoryBlobIndex, MemoryBlobStore } = await import('../../lambda/core/storage/memory-storage.js');
    const m = fakeMetrics();
    const deps = {
      settings: {
        maxUploadSize: DEFAULT_MAX_UPLOAD_SIZE,
        maxBlobSize: MAX_BLOB_SIZE,
        uploadUrlTtlSeconds: 60,
        completionGraceSeconds: 60,
        allowRemove: false,
        maxInlineGetSize: DEFAULT_MAX_UPLOAD_SIZE,
      },
      storage: new BlobStorage(new MemoryBlobIndex(), new MemoryBlobStore(), { log: createLogger({ POWERTOOLS_LOG_LEVEL: 'SILENT' }) }),
      metrics: m.metrics,
    };
    const ev = { headers: { 'content-type': contentType }, body: body.toString('base64'), isBase64Encoded: true } as unknown as HttpEvent;
    await receiveUpload(deps, ev);
    const recorded = Object.fromEntries(m.addMetric.mock.calls.map((c) => [c.arguments[0], c.arguments[2]]));
    assert.deepEqual(recorded, { BlobsReceived: 1, BytesReceived: good.length, BlobsRejected: 1 });
  });
});

describe('tracing', () => {
  it('is off unless the stack sets POWERTOOLS_TRACE_ENABLED=true (context tracing=true); on, one Tracer per process, loaded first', async () => {
    assert.equal(await loadTracer({}), undefined);
    assert.equal(tracerFor({}), undefined);
    assert.equal(tracerFor({ POWERTOOLS_TRACE_ENABLED: 'false' }), undefined);
    assert.throws(() => tracerFor({ POWERTOOLS_TRACE_ENABLED: 'true' }), /not loaded/, 'clients built before the tracer would go untraced');
    const tracer = await loadTracer({ POWERTOOLS_TRACE_ENABLED: 'true', POWERTOOLS_SERVICE_NAME: 'blobserver' });
    assert.equal(typeof tracer?.captureAWSv3Client, 'function');
    assert.equal(tracerFor({ POWERTOOLS_TRACE_ENABLED: 'true' }), tracer);
  });
});
