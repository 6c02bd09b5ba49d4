import { namedNamespace, namespaceNameProblem, ROOT_NAMESPACE, type Namespace } from '../namespace.js';
import { REFUSE } from '../http/errors.js';
import type { HttpEvent } from '../http/http.js';

/** The route table's path parameter that names the namespace (`/{namespace}/camli/...`, lambda/routes.ts). */
export const NAMESPACE_PARAMETER = 'namespace';

/**
 * The namespace a request is for: the one place it is read from a request, before any
 * authorisation (so a per-namespace credential check, when there is one, can take it from here).
 * A route without `{namespace}` is the root namespace's. A name that cannot be a namespace
 * (namespace.ts) is a 400 with its reason, and nothing else happens.
 */
export function namespaceOf(event: HttpEvent): Namespace {
  const name = event.pathParameters?.[NAMESPACE_PARAMETER];
  if (name === undefined) return ROOT_NAMESPACE;
  const problem = namespaceNameProblem(name);
  if (problem) throw REFUSE.invalidNamespace(problem);
  return namedNamespace(name);
}

/** How the admin API and CLI name the root namespace: its URL path (no namespace name can be it). */
export const ROOT_NAMESPACE_ID = '/';

/** A namespace as the admin API names one (`/` for the root); a 400 with the reason otherwise. */
export function namespaceNamed(id: string): Namespace {
  if (id === ROOT_NAMESPACE_ID) return ROOT_NAMESPACE;
  const problem = namespaceNameProblem(id);
  if (problem) throw REFUSE.invalidNamespace(`${problem} (the root namespace is "${ROOT_NAMESPACE_ID}")`);
  return namedNamespace(id);
}

/** The admin API's name of a namespace. */
export function namespaceId(ns: Namespace): string {
  return ns.name || ROOT_NAMESPACE_ID;
}
