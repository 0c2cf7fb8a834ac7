/** `${VAR}` and `${VAR:-default}` in string values; `$${` escapes a literal `${`. */
const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationIssue {
  path: string;
  message: string;
}

/**
 * Replaces the variables in `value`. A variable that is unset and has no default is reported
 * through `onMissing` and left as written, so the schema doesn't report a second, derived error.
 */
export function interpolateString(value: string, env: NodeJS.ProcessEnv, onMissing: (name: string) => void): string {
  if (!value.includes('${')) return value;
  return value.replace(PATTERN, (match, name: string | undefined, fallback: string | undefined) => {
    if (name === undefined) return '${';
    const set = env[name];
    // Shell semantics: `:-` also replaces a variable that is set but empty.
    if (set !== undefined && set !== '') return set;
    if (fallback !== undefined) return fallback;
    if (set === '') return '';
    onMissing(name);
    return match;
  });
}

/**
 * Returns a copy of `tree` made of plain objects, arrays and scalars, with every string value
 * interpolated, and the unset variables by path.
 */
export function interpolateTree(tree: unknown, env: NodeJS.ProcessEnv): { value: unknown; issues: InterpolationIssue[] } {
  const issues: InterpolationIssue[] = [];
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') {
      return interpolateString(node, env, (name) =>
        issues.push({ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` }),
      );
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${path}[${i}]`));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) {
        // defineProperty: a YAML key named `__proto__` must stay a key, not replace the prototype.
        Object.defineProperty(out, key, {
          value: walk(child, path ? `${path}.${key}` : key),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return node;
  };
  return { value: walk(tree, ''), issues };
}
