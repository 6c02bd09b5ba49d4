/**
 * A small IAM policy evaluator for the permission lane: identity policies of one role, Allow and
 * Deny statements, action and resource wildcards (`*`, `?`), and the condition operators the
 * stack uses (the String* family, with IfExists). Pure: no AWS, no I/O.
 *
 * Evaluation as IAM documents it for one identity policy set: an explicit Deny wins, else any
 * Allow allows, else the request is implicitly denied.
 */

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** One authorisation question: may the role do `action` on `resource`, with these condition keys? */
export interface AuthRequest {
  action: string;
  resource: string;
  /** Condition keys (any case) and their values for this request; absent keys are missing. */
  context?: Record<string, string | undefined> | undefined;
}

export type Decision = { allowed: true; statement: Statement; action: string } | { allowed: false; explicit: boolean; statement?: Statement };

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** IAM's wildcard match: `*` any run of characters (none included), `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  // Iterative glob with backtracking to the last `*`: linear enough, no regex escaping to get wrong.
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === v[vi])) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

function contextValue(context: AuthRequest['context'], key: string): string | undefined {
  if (!context) return undefined;
  const wanted = key.toLowerCase();
  for (const [k, v] of Object.entries(context)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

const OPERATORS: Record<string, { test: (want: string, got: string) => boolean; negated: boolean }> = {
  StringEquals: { test: (w, g) => w === g, negated: false },
  StringNotEquals: { test: (w, g) => w === g, negated: true },
  StringEqualsIgnoreCase: { test: (w, g) => w.toLowerCase() === g.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { test: (w, g) => w.toLowerCase() === g.toLowerCase(), negated: true },
  StringLike: { test: (w, g) => wildcardMatch(w, g), negated: false },
  StringNotLike: { test: (w, g) => wildcardMatch(w, g), negated: true },
};

export class UnsupportedConditionError extends Error {}

/**
 * Every operator block must hold (AND), and within one, every key (AND); a key holds when any of
 * its values matches (OR), or for a negated operator when none does. A missing key fails a
 * positive operator and satisfies a negated one; `...IfExists` makes a missing key satisfy both.
 */
export function conditionsHold(condition: Statement['Condition'], context: AuthRequest['context']): boolean {
  for (const [rawOp, keys] of Object.entries(condition ?? {})) {
    const ifExists = rawOp.endsWith('IfExists');
    const op = OPERATORS[ifExists ? rawOp.slice(0, -'IfExists'.length) : rawOp];
    if (!op) throw new UnsupportedConditionError(`condition operator ${rawOp} is not supported by this evaluator`);
    for (const [key, wanted] of Object.entries(keys)) {
      const got = contextValue(context, key);
      if (got === undefined) {
        if (ifExists || op.negated) continue;
        return false;
      }
      const any = list(wanted).some((w) => op.test(w, got));
      if (op.negated ? any : !any) return false;
    }
  }
  return true;
}

function statementMatches(st: Statement, req: AuthRequest): string | undefined {
  const action = list(st.Action).find((a) => wildcardMatch(a, req.action, true));
  if (action === undefined) return undefined;
  if (!list(st.Resource).some((r) => wildcardMatch(r, req.resource))) return undefined;
  return conditionsHold(st.Condition, req.context) ? action : undefined;
}

export function evaluate(statements: readonly Statement[], req: AuthRequest): Decision {
  let allow: { statement: Statement; action: string } | undefined;
  for (const st of statements) {
    const action = statementMatches(st, req);
    if (action === undefined) continue;
    if (st.Effect === 'Deny') return { allowed: false, explicit: true, statement: st };
    allow ??= { statement: st, action };
  }
  return allow ? { allowed: true, ...allow } : { allowed: false, explicit: false };
}
