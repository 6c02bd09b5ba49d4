import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiRootPath, discoveryDocument, wantsDiscovery } from '../../lambda/core/read/discovery.js';
import type { HttpEvent } from '../../lambda/core/http/http.js';
import { toEvent } from '../../local/event.js';
import type { DiscoveryDoc } from '../support/discovery.js';

function event(url: string, headers: Record<string, string> = {}, stage = '$default'): HttpEvent {
  const e = toEvent(
    { method: 'GET', url, headers: { host: 'blobs.example.com', 'x-forwarded-proto': 'https', ...headers }, body: Buffer.alloc(0), sourceIp: '127.0.0.1' },
    undefined,
  );
  e.requestContext.stage = stage;
  return e;
}

describe('wantsDiscovery', () => {
  it("recognises Perkeep's Accept header, alone or among others, in any case, with parameters", () => {
    for (const accept of [
      'text/x-camli-configuration',
      'text/html, text/x-camli-configuration',
      'TEXT/X-CAMLI-CONFIGURATION;q=0.5',
      'application/json ,text/x-camli-configuration ; q=1',
    ]) {
      assert.equal(wantsDiscovery(event('/', { accept })), true, accept);
    }
  });

  it('recognises ?camli.mode=config', () => {
    assert.equal(wantsDiscovery(event('/?camli.mode=config')), true);
    assert.equal(wantsDiscovery(event('/?x=1&camli.mode=config')), true);
  });

  it('is false for anything else', () => {
    for (const [url, accept] of [
      ['/', 'text/html'],
      ['/', '*/*'],
      ['/?camli.mode=other', ''],
      ['/', 'text/x-camli-configuration-v2'],
      ['/', ''],
    ] as const) {
      assert.equal(wantsDiscovery(event(url, accept ? { accept } : {})), false, `${url} ${accept}`);
    }
  });
});

describe('discovery document', () => {
  it('puts the blob root at the API root: / on the default stage, /<stage>/ behind a named one', () => {
    assert.equal(apiRootPath(event('/')), '/');
    assert.equal(apiRootPath(event('/', {}, 'prod')), '/prod/');
    const staged = discoveryDocument(event('/', {}, 'prod'), 'alice');
    assert.equal(staged.blobRoot, '/prod/');
    assert.equal(staged.statusRoot, '/prod/status/');
  });

  it('advertises sha224 then sha1, and no search or signing (nor a storage generation when none could be read)', () => {
    const d: DiscoveryDoc = discoveryDocument(event('/'), 'alice');
    assert.deepEqual(d.blobHashFuncs, ['sha224', 'sha1']);
    assert.equal(d.blobRoot, '/');
    assert.equal(d.statusRoot, '/status/');
    assert.equal(d.searchRoot, '');
    assert.equal(d.userName, 'alice');
    assert.equal(d.hasLegacySHA1Index, false);
    for (const absent of ['signing', 'storageGeneration', 'storageInitTime', 'uiRoot', 'downloadHelper', 'syncHandlers'])
      assert.equal(d[absent], undefined, absent);
  });

  it("reports the store's generation and its creation time as perkeepd does", () => {
    const d: DiscoveryDoc = discoveryDocument(event('/'), 'alice', { generation: 'f00d', initTime: '2026-11-25T20:00:00.000Z' });
    assert.equal(d.storageGeneration, 'f00d');
    assert.equal(d.storageInitTime, '2026-11-25T20:00:00.000Z');
  });
});
