import { JsonSkimmer, OPEN_BRACE, OPEN_BRACKET } from '../json-skim.js';

/**
 * Reads a Responses stream event such as `{"type":"response.completed","response":{…}}` while
 * building only the top-level fields of it and the chosen fields of its `response` object: the
 * rest of the response (the request's instructions and tools, echoed back, and the output) is
 * stepped over, not materialised. Strings are skipped with `indexOf`, so the cost follows the
 * number of JSON tokens outside strings, not the bytes; a 100 KB event of mostly prompt text
 * costs a few microseconds instead of a full `JSON.parse`.
 *
 * Returns undefined when the text is not shaped as expected (the caller then parses it whole).
 * Skipped values are only checked for structure, not validated as JSON.
 */
export function skimResponseEvent(json: string, fields: ReadonlySet<string>, memo?: SkipMemo): Record<string, unknown> | undefined {
  const s = new JsonSkimmer(json);
  try {
    const event: Record<string, unknown> = {};
    s.objectEntries((key, start) => {
      if (key === 'response' && json.charCodeAt(start) === OPEN_BRACE) {
        const response: Record<string, unknown> = {};
        s.objectEntries((inner, at) => {
          if (fields.has(inner)) {
            const end = s.skipValue(at);
            response[inner] = JSON.parse(json.slice(at, end));
            return end;
          }
          const known = memo?.skip(json, inner, at);
          if (known !== undefined) return known;
          const end = s.skipValue(at);
          memo?.remember(json, inner, at, end);
          return end;
        }, start);
        event.response = response;
        return s.pos;
      }
      const end = s.skipValue(start);
      event[key] = JSON.parse(json.slice(start, end));
      return end;
    }, s.ws(0));
    return s.ws(s.pos) === json.length ? event : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The last large object or array skipped under each key of the response object. An upstream
 * echoes the same tools in every response of a session; once seen, the next echo is stepped
 * over with one comparison instead of a walk through its structure. The same text
 * at the same place is the same complete value: objects and arrays end at their own bracket.
 */
export class SkipMemo {
  private readonly values = new Map<string, string>();

  constructor(
    private readonly minLength = 1024,
    private readonly maxKeys = 32,
  ) {}

  /** The end of the value at `at` if it is the one last remembered under `key`. */
  skip(json: string, key: string, at: number): number | undefined {
    const known = this.values.get(key);
    // A slice compared with ===, not startsWith: V8 compares two flat strings with memcmp, while
    // startsWith steps through them a character at a time (0.7 vs 17 µs for 31 KB).
    return known !== undefined && json.slice(at, at + known.length) === known ? at + known.length : undefined;
  }

  remember(json: string, key: string, start: number, end: number): void {
    const first = json.charCodeAt(start);
    if (end - start < this.minLength || (first !== OPEN_BRACE && first !== OPEN_BRACKET)) return;
    if (!this.values.has(key) && this.values.size >= this.maxKeys) return;
    // A flat copy (a slice would keep the whole event's text alive) in the same one-byte form as
    // latin1-decoded events, so the comparison above stays a memcmp.
    const text = json.slice(start, end);
    const encoding = ONE_BYTE.test(text) ? 'latin1' : 'utf16le';
    this.values.set(key, Buffer.from(text, encoding).toString(encoding));
  }
}

// eslint-disable-next-line no-control-regex
const ONE_BYTE = /^[\u0000-\u00ff]*$/;
