/**
 * JSON.parse for request bodies whose large top-level members repeat byte for byte from request
 * to request: a coding agent sends its whole tool list (~31 KB for Claude Code) and system
 * prompt (~7 KB) with every turn. Such a member, once parsed, is recognised the next time by one
 * byte comparison at its position and its parsed value reused (deep-frozen: requests share it);
 * the other members are decoded and parsed as usual. The members are found by a walk over the
 * body's bytes that skips strings with `indexOf`.
 *
 * The result equals `JSON.parse(body)`. Anything unexpected (not an object, malformed structure,
 * a member that does not parse) gives `undefined`, and the caller parses the body whole, which
 * also gives the usual error message.
 */
export class RepeatedMemberParser {
  private readonly cache = new Map<string, { bytes: Buffer; value: unknown }[]>();

  constructor(
    private readonly keys: ReadonlySet<string>,
    /** Whether a parsed member value may be kept and reused (a depth limit, say). */
    private readonly reusable: (value: unknown) => boolean = () => true,
    /** Members shorter than this are parsed every time. */
    private readonly minBytes = 2048,
    /** Distinct values kept per key (a gateway serves a few client versions at once). */
    private readonly perKey = 8,
  ) {}

  /** `buf` is valid UTF-8 without a byte order mark. */
  parse(buf: Buffer): Record<string, unknown> | undefined {
    let i = ws(buf, 0);
    if (buf[i] !== OPEN_BRACE) return undefined;
    i = ws(buf, i + 1);
    if (buf[i] === CLOSE_BRACE) return undefined;
    const out: Record<string, unknown> = {};
    for (;;) {
      if (buf[i] !== QUOTE) return undefined;
      const keyEnd = skipString(buf, i);
      if (keyEnd < 0) return undefined;
      const key = parsePart(buf, i, keyEnd);
      if (typeof key !== 'string') return undefined;
      i = ws(buf, keyEnd);
      if (buf[i] !== COLON) return undefined;
      const start = ws(buf, i + 1);
      const cacheable = this.keys.has(key);
      const known = cacheable ? this.find(key, buf, start) : undefined;
      let end: number;
      let value: unknown;
      if (known) {
        end = start + known.bytes.length;
        value = known.value;
      } else {
        end = skipValue(buf, start);
        if (end < 0) return undefined;
        value = parsePart(buf, start, end);
        if (value === INVALID) return undefined;
        if (cacheable && end - start >= this.minBytes && isSelfDelimiting(buf[start]) && this.reusable(value)) {
          value = this.remember(key, buf, start, end, value);
        }
      }
      setMember(out, key, value);
      i = ws(buf, end);
      if (buf[i] === COMMA) {
        i = ws(buf, i + 1);
        continue;
      }
      if (buf[i] !== CLOSE_BRACE) return undefined;
      return ws(buf, i + 1) === buf.length ? out : undefined;
    }
  }

  /** The remembered value whose bytes start at `start`; they end where the value ends (see isSelfDelimiting). */
  private find(key: string, buf: Buffer, start: number): { bytes: Buffer; value: unknown } | undefined {
    const entries = this.cache.get(key);
    if (!entries) return undefined;
    for (let n = 0; n < entries.length; n++) {
      const entry = entries[n];
      const end = start + entry.bytes.length;
      if (end <= buf.length && buf.compare(entry.bytes, 0, entry.bytes.length, start, end) === 0) {
        if (n > 0) {
          entries.splice(n, 1);
          entries.unshift(entry);
        }
        return entry;
      }
    }
    return undefined;
  }

  private remember(key: string, buf: Buffer, start: number, end: number, value: unknown): unknown {
    let entries = this.cache.get(key);
    if (!entries) this.cache.set(key, (entries = []));
    const frozen = deepFreeze(value);
    // A copy: the body's buffer is not ours to keep.
    entries.unshift({ bytes: Buffer.from(buf.subarray(start, end)), value: frozen });
    if (entries.length > this.perKey) entries.pop();
    return frozen;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const INVALID = Symbol('invalid');

/**
 * Strings, objects and arrays end at their own closing quote or bracket, so equal bytes at a
 * position are the same whole value; a number could go on (`12` is the start of `123`).
 */
function isSelfDelimiting(first: number | undefined): boolean {
  return first === QUOTE || first === OPEN_BRACE || first === OPEN_BRACKET;
}

function ws(buf: Buffer, i: number): number {
  for (;;) {
    const c = buf[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Just past the closing quote of the string at `i`, or -1. UTF-8 continuation bytes are never ASCII. */
function skipString(buf: Buffer, i: number): number {
  let j = i;
  for (;;) {
    j = buf.indexOf(QUOTE, j + 1);
    if (j === -1) return -1;
    let backslashes = 0;
    while (buf[j - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return j + 1;
  }
}

/** The end of the value at `i` (structure only: JSON.parse checks the rest), or -1. */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < buf.length; j++) {
      const d = buf[j];
      if (d === QUOTE) {
        j = skipString(buf, j) - 1;
        if (j < 0) return -1;
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) {
        depth++;
      } else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) {
        return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  for (; j < buf.length; j++) {
    const d = buf[j];
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
  }
  return j === i ? -1 : j;
}

function parsePart(buf: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(buf.toString('utf8', start, end)) as unknown;
  } catch {
    return INVALID;
  }
}

/** As JSON.parse does it: `__proto__` becomes an own member, not the prototype. */
function setMember(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  else out[key] = value;
}

function deepFreeze<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || Object.isFrozen(node)) continue;
    Object.freeze(node);
    for (const child of Object.values(node)) stack.push(child);
  }
  return value;
}
