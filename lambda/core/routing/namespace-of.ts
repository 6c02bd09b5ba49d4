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
