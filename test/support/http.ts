import assert from 'node:assert/strict';

/**
 * The one HTTP client of the protocol tests: a request and everything its answer holds
 * (status, headers, bytes, text and the JSON body when there is one), plus the check every
 * refusal must pass.
 */
export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  /** The JSON body, or undefined when the body is not JSON. */
  json: T | undefined;
}

/** A reply whose body had to be JSON (jsonReplyOf fails the test otherwise). */
export type JsonReply<T> = Reply<T> & { json: T };

export interface RequestOptions {
  method?: string;
  /** The Authorization header; undefined or null sends none. */
  auth?: string | null | undefined;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Default `manual`: tests look at redirects themselves. */
  redirect?: RequestRedirect;
}

export async function replyOf<T = Record<string, unknown>>(res: Response): Promise<Reply<T>> {
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: T | undefined;
  try {
    json = JSON.parse(text) as T;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, bytes, text, json };
}

export async function jsonReplyOf<T>(res: Response): Promise<JsonReply<T>> {
  const r = await replyOf<T>(res);
  if (r.json === undefined) assert.fail(`HTTP ${r.status}: body is not valid JSON: ${r.text.slice(0, 300)}`);
  return r as JsonReply<T>;
}

export function fetchOf(url: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers['authorization'] = opts.auth;
  return fetch(url, {
    method: opts.method ?? 'GET',
    headers,
    body: opts.body === undefined ? null : typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body),
    redirect: opts.redirect ?? 'manual',
  });
}

export async function request<T = Record<string, unknown>>(url: string, opts: RequestOptions = {}): Promise<Reply<T>> {
  return replyOf<T>(await fetchOf(url, opts));
}

/** A refusal: this status, a non-empty JSON `errorText` (matching `pattern`), never a stack trace. */
export function assertJsonError(r: Reply<unknown>, status: number, pattern?: RegExp): void {
  assert.equal(r.status, status, r.text);
  const errorText = (r.json as { errorText?: unknown } | undefined)?.errorText;
  assert.equal(typeof errorText, 'string', `no JSON errorText: ${r.text}`);
  assert.ok((errorText as string).length > 0);
  assert.doesNotMatch(errorText as string, /\n\s+at /, 'a stack trace leaked');
  if (pattern) assert.match(errorText as string, pattern);
}
