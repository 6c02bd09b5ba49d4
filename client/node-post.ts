import type { MultipartBody } from './multipart.js';

/**
 * Under Node, an upload's multipart body goes out through node:http(s) with its pieces written
 * as they are (corked: one writev), and the answer comes back as a fetch Response. fetch would
 * copy the body first (undici clones a Uint8Array body, and each piece of a streamed one), and
 * at the client's speed those copies and their garbage were a fifth of its time. Used only for
 * POSTs that expect no redirect (the upload URL), with the global fetch (an injected fetch sees
 * every request), and never in browsers.
 */

type NodeHttp = { http: typeof import('node:http'); https: typeof import('node:https'); Readable: typeof import('node:stream').Readable };

const nodeHttp: NodeHttp | undefined = await load();

async function load(): Promise<NodeHttp | undefined> {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  try {
    // One awaited import() each, directly in the try: bundlers targeting browsers leave those unresolved.
    const http = await import('node:http');
    const https = await import('node:https');
    const { Readable } = await import('node:stream');
    return { http, https, Readable };
  } catch {
    return undefined;
  }
}

let agents: { http: import('node:http').Agent; https: import('node:https').Agent } | undefined;

/** Whether `postPieces` can send here (Node). */
export const canPostPieces = nodeHttp !== undefined;

/** POSTs the body's pieces to `url`; rejects as fetch does (a TypeError whose `cause` is the network error). */
export function postPieces(url: string, headers: Headers, body: MultipartBody, signal: AbortSignal): Promise<Response> {
  const { http, https, Readable } = nodeHttp!;
  agents ??= { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const secure = url.startsWith('https:');
  const outgoing: Record<string, string> = Object.fromEntries(headers);
  outgoing['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, { method: 'POST', headers: outgoing, signal, agent: secure ? agents!.https : agents!.http }, (res) => {
      const status = res.statusCode ?? 502;
      const answer = new Headers();
      for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) answer.append(k, one);
      const noBody = status === 204 || status === 205 || status === 304;
      if (noBody) res.resume();
      try {
        resolve(
          new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? '', headers: answer }),
        );
      } catch (cause) {
        // A status fetch cannot represent (below 200, above 599): an unusable answer, as fetch would fail.
        res.destroy();
        reject(Object.assign(new TypeError('fetch failed'), { cause }));
      }
    });
    req.on('error', (cause) => reject(Object.assign(new TypeError('fetch failed'), { cause })));
    req.cork();
    for (const p of body.pieces) req.write(p);
    req.end();
  });
}
