import type { HttpEvent } from '../http/http.js';

/**
 * The credential id each request was made with, for the router's audit line; never a secret.
 * Set by the authorisation (authorise.ts, loaded on a route's first request), read by the router
 * (loaded at a cold start), so it lives apart from both.
 */
export const CALLERS = new WeakMap<HttpEvent, string>();
