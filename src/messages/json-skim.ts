/** JSON's structural characters, as char codes (and bytes). */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const COMMA = 0x2c;
export const COLON = 0x3a;

/** Thrown on text that is not shaped as JSON where it is read. */
export class Malformed extends Error {}

/**
 * Steps through JSON text without building it: the end of a value, of a string, of whitespace.
 * Strings are skipped with `indexOf`, so the cost follows the number of JSON tokens outside
 * strings, not the bytes. Skipped values are checked for structure only. Works on UTF-8 bytes
 * read as latin1 too (a Buffer's `toString('latin1')`): JSON's structural characters are ASCII
 * and never part of a multi-byte sequence, so positions are byte offsets.
 */
export class JsonSkimmer {
  pos = 0;

  constructor(private readonly s: string) {}

  ws(i: number): number {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return i;
    }
  }

  /** Calls `onValue(key, valueStart)` for each entry of the object at `i`; it returns the value's end. */
  objectEntries(onValue: (key: string, valueStart: number) => number, i: number): void {
    const s = this.s;
    if (s.charCodeAt(i) !== OPEN_BRACE) throw new Malformed();
    i = this.ws(i + 1);
    if (s.charCodeAt(i) === CLOSE_BRACE) {
      this.pos = i + 1;
      return;
    }
    for (;;) {
      if (s.charCodeAt(i) !== QUOTE) throw new Malformed();
      const keyEnd = this.skipString(i);
      // Keys are plain ASCII in practice: only one with an escape needs JSON.parse.
      const raw = s.slice(i + 1, keyEnd - 1);
      const key = raw.includes('\\') ? (JSON.parse(s.slice(i, keyEnd)) as string) : raw;
      i = this.ws(keyEnd);
      if (s.charCodeAt(i) !== COLON) throw new Malformed();
      i = this.ws(onValue(key, this.ws(i + 1)));
      const c = s.charCodeAt(i);
      if (c === CLOSE_BRACE) {
        this.pos = i + 1;
        return;
      }
      if (c !== COMMA) throw new Malformed();
      i = this.ws(i + 1);
    }
  }

  /** The end of the JSON value starting at `i`. */
  skipValue(i: number): number {
    const s = this.s;
    const c = s.charCodeAt(i);
    if (c === QUOTE) return this.skipString(i);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let depth = 0;
      for (let j = i; j < s.length; j++) {
        const d = s.charCodeAt(j);
        if (d === QUOTE) j = this.skipString(j) - 1;
        else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
        else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
          if (--depth === 0) return j + 1;
        }
      }
      throw new Malformed();
    }
    // A number, true, false or null: up to the next delimiter.
    let j = i;
    for (; j < s.length; j++) {
      const d = s.charCodeAt(j);
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    }
    if (j === i) throw new Malformed();
    return j;
  }

  /** The end of the string starting at `i` (just past its closing quote). */
  skipString(i: number): number {
    const s = this.s;
    let j = i;
    for (;;) {
      j = s.indexOf('"', j + 1);
      if (j === -1) throw new Malformed();
      let backslashes = 0;
      while (s.charCodeAt(j - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return j + 1;
    }
  }
}
