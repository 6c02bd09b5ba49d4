/**
 * Namespaces (DESIGN §12): independent blob roots of one deployment, at `/<name>/camli/...`.
 * The root namespace (name '') is the store as it always was: its URLs, object keys and index
 * rows carry no namespace at all. A named namespace's object keys live under `ns/<name>/`
 * (object-keys.ts), its index rows under the partition key values `<name>/<shard>`
 * (index-schema.ts), and its signed URLs are signed for it alone (auth/tokens.ts). No import:
 * every layer, the route table and the CDK app read it.
 */

export interface Namespace {
  /** '' for the root namespace, else a name matching NAMESPACE_NAME. */
  readonly name: string;
}

export const ROOT_NAMESPACE: Namespace = Object.freeze({ name: '' });

/** Lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters (a DNS label). */
export const NAMESPACE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Names a namespace may not take: the first path segments of the root namespace's routes
 * (`/camli/...`, `/status/...`, `/ui`, `/admin/...`; a namespace there would shadow them or be shadowed), and
 * `ns`, the object-key folder that holds the namespaces. test/unit/namespace.test.ts checks that
 * every literal first segment of the route table is here.
 */
export const RESERVED_NAMESPACE_NAMES: ReadonlySet<string> = new Set(['camli', 'status', 'ui', 'ns', 'admin']);

/** Why `name` cannot be a namespace, or undefined when it can. */
export function namespaceNameProblem(name: string): string | undefined {
  if (!NAMESPACE_NAME.test(name)) {
    return `${JSON.stringify(name.slice(0, 80))} is not a namespace name: lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters`;
  }
  if (RESERVED_NAMESPACE_NAMES.has(name)) return `${JSON.stringify(name)} is reserved and cannot be a namespace`;
  return undefined;
}

/** The named namespace; throws on a name namespaceNameProblem refuses. */
export function namedNamespace(name: string): Namespace {
  const problem = namespaceNameProblem(name);
  if (problem) throw new Error(problem);
  return Object.freeze({ name });
}

/** The URL path of the namespace's root, without a trailing slash: '' for the root, `/<name>` otherwise. */
export function namespacePath(ns: Namespace): string {
  return ns.name ? `/${ns.name}` : '';
}

/** How logs and messages name it. */
export function namespaceLabel(ns: Namespace): string {
  return ns.name ? `namespace ${ns.name}` : 'the root namespace';
}
