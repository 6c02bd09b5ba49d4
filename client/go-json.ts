/**
 * JSON as Go's encoding/json MarshalIndent(v, "", "  ") writes it, which is what Perkeep
 * hashes: object keys sorted by their UTF-8 bytes; <, >, & and U+2028/U+2029 escaped as
 * \u003c, \u003e, \u0026, \u2028, \u2029. JSON.stringify already matches Go on layout
 * and on every other escape (\b \f \n \r \t, \u00XX in lower-case hex).
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const utf8 = new TextEncoder();
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(utf8.encode(a)), Buffer.from(utf8.encode(b)));

function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: { [key: string]: JsonValue } = {};
  for (const k of Object.keys(v).sort(compareUtf8)) out[k] = sortKeys(v[k]!);
  return out;
}

/** Byte order of the UTF-8 encodings (Go's string order), without Buffer in browsers. */
export function compareUtf8(a: string, b: string): number {
  if (typeof Buffer !== 'undefined') return byUtf8(a, b);
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

export function goMarshalIndent(v: JsonValue): string {
  // None of these characters can occur in JSON outside a string, so a global replace is exact.
  return JSON.stringify(sortKeys(v), null, 2).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c] ?? c);
}
