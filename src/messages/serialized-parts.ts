/**
 * The large parts of a Codex request body that a coding agent sends again on every turn (the
 * converted tool list, ~31 KB for Claude Code's 12 tools, and the instructions, ~7-16 KB),
 * serialized and UTF-8 encoded once and reused while they stay the same. Checking that they are
 * the same is `isDeepStrictEqual` (~4 µs for Claude Code's tools, whose schemas are the shared
 * objects RepeatedMemberParser reuses; ~55 µs for tools built apart), serializing them again ~120 µs. Entries are kept for the last few distinct values: one gateway serves many sessions of
 * a few client versions.
 */

/** A value and its JSON text, UTF-8 encoded. */
export interface SerializedPart<T> {
  value: T;
  json: Buffer;
}

const ENTRIES = 8;

export class SerializedPartCache<K, T> {
  private entries: { key: K; part: SerializedPart<T> }[] = [];

  constructor(
    /** Equality of keys; it must hold exactly when `build` gives equal values for them. */
    private readonly same: (a: K, b: K) => boolean,
    private readonly build: (key: K) => T,
  ) {}

  get(key: K): SerializedPart<T> {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (!this.same(entry.key, key)) continue;
      if (i > 0) {
        entries.splice(i, 1);
        entries.unshift(entry);
      }
      return entry.part;
    }
    const value = this.build(key);
    const part = { value, json: Buffer.from(JSON.stringify(value)) };
    entries.unshift({ key, part });
    if (entries.length > ENTRIES) entries.pop();
    return part;
  }
}

/** `,"<key>":` per member name, encoded once. */
const commaKeys = new Map<string, Buffer>();
function commaKey(key: string): Buffer {
  let encoded = commaKeys.get(key);
  if (!encoded) commaKeys.set(key, (encoded = Buffer.from(`,${JSON.stringify(key)}:`)));
  return encoded;
}

/**
 * `Buffer.from(JSON.stringify(body))`, except that members whose value is (identically) a
 * serialized part's value are written from its JSON instead of serialized again. Key order may
 * differ from JSON.stringify's; the JSON value is the same.
 */
export function encodeBody(body: Record<string, unknown>, parts: Readonly<Record<string, SerializedPart<unknown> | undefined>>): Buffer {
  const rest: Record<string, unknown> = {};
  const spliced: Buffer[] = [];
  for (const key in body) {
    if (!Object.hasOwn(body, key)) continue;
    const value = body[key];
    const part = parts[key];
    if (part !== undefined && part.value === value) spliced.push(commaKey(key), part.json);
    else rest[key] = value;
  }
  const head = JSON.stringify(rest);
  if (spliced.length === 0) return Buffer.from(head);
  if (head === '{}') {
    // No other member: drop the leading comma of the first spliced one.
    spliced[0] = spliced[0].subarray(1);
    return Buffer.concat([Buffer.from('{'), ...spliced, Buffer.from('}')]);
  }
  return Buffer.concat([Buffer.from(head.slice(0, -1)), ...spliced, Buffer.from('}')]);
}
