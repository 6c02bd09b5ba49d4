import { createHash } from 'node:crypto';
import { REFUSE } from './errors.js';

/**
 * The page at /ui/ (DESIGN §10), one self-contained HTML document. The Lambda bundle has it
 * built in: infra/ builds it from ui/ when it bundles the read side and defines it (esbuild
 * `define`) as this constant, in the chunk only GET /ui loads (deps.ts imports this module on
 * first use). Without it (sources run directly) the local server builds it (local/server.ts).
 */
declare const BLOBSERVER_UI_PAGE: string | undefined;

export async function builtInUiPage(): Promise<string> {
  if (typeof BLOBSERVER_UI_PAGE === 'string') return BLOBSERVER_UI_PAGE;
  throw REFUSE.uiNotBuilt();
}

/**
 * The page's Content-Security-Policy. Scripts: only the page's own inline scripts, by their
 * SHA-256 (never `'unsafe-inline'`, so markup injected through a name or a blob could not run),
 * its blob: worker and the worker's WebAssembly hasher. Connections: this API (`'self'`: the page
 * is served by it) and the bucket, which the page reaches through presigned URLs (upload forms,
 * located ranges, GET redirects); nothing else, so an injected script could not send anything
 * elsewhere either.
 */
export function pageContentSecurityPolicy(html: string, bucketOrigin: string): string {
  const hashes = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src ${[...hashes, "'wasm-unsafe-eval'", 'blob:'].join(' ')}`,
    'worker-src blob:',
    "style-src 'unsafe-inline'",
    `connect-src 'self' ${bucketOrigin}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
