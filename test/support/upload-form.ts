import assert from 'node:assert/strict';

/**
 * The client side of the large-blob lane (DESIGN §6), as a browser or `curl -F` does it: POST
 * every field of `uploadForm` unchanged, then one `file` part whose filename is the blobref,
 * to the form's URL; S3 answers 303 to the completion endpoint, which the client follows.
 */
import type { UploadForm } from '../../lambda/core/upload/upload-form.js';

export type { UploadForm };

export interface FormPost {
  /** S3's answer status (303 when stored and redirected). */
  status: number;
  /** The redirect to the completion endpoint, when S3 answered 303. */
  location?: string | undefined;
  text: string;
}

/** POSTs a file through a form; `fields` overrides (or, with undefined, drops) form fields. */
export async function postForm(form: UploadForm, data: Buffer, filename: string, fields: Record<string, string | undefined> = {}): Promise<FormPost> {
  const body = new FormData();
  for (const [k, v] of Object.entries({ ...form.fields, ...fields })) if (v !== undefined) body.append(k, v);
  body.append('file', new Blob([new Uint8Array(data)], { type: 'application/octet-stream' }), filename);
  const res = await fetch(form.url, { method: 'POST', body, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') ?? undefined, text: await res.text() };
}

/** POSTs and insists on S3's 303; returns where it points. */
export async function postFormRedirected(form: UploadForm, data: Buffer, filename: string): Promise<string> {
  const r = await postForm(form, data, filename);
  assert.equal(r.status, 303, `S3 answered the form POST with ${r.status}: ${r.text.slice(0, 300)}`);
  assert.ok(r.location, '303 without a Location');
  return r.location;
}

/** The staged object's key as S3 reports it in the redirect. */
export function stagedKeyOf(location: string): string {
  const key = new URL(location).searchParams.get('key');
  assert.ok(key, `no key in ${location}`);
  return key;
}

/** The redirect with its query parameter `name` replaced (or dropped, with undefined). */
export function withQuery(location: string, name: string, value: string | undefined): string {
  const u = new URL(location);
  if (value === undefined) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.toString();
}

/** A field the form must carry (its absence fails the test). */
export function fieldOf(form: UploadForm, name: string): string {
  const value = form.fields[name];
  assert.ok(value !== undefined, `the form has no ${name} field`);
  return value;
}

/** The decoded policy document of a form. */
export function policyOf(form: UploadForm): { expiration: string; conditions: unknown[] } {
  return JSON.parse(Buffer.from(fieldOf(form, 'Policy'), 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
}
