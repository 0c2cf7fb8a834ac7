/**
 * Forwards streamed tool-call arguments as they arrive while guaranteeing that what was
 * forwarded can always be completed into one valid JSON object: Anthropic clients parse the
 * concatenated `input_json_delta`s at `content_block_stop`, and some upstreams stream arguments
 * that are never valid JSON.
 *
 * `push` returns the part of a chunk that keeps the output a valid JSON-object prefix,
 * repairing on the way what pi-ai's own parser repairs (raw control characters and invalid
 * escapes inside strings). At the first character that cannot be repaired it stops for good.
 * A separator or an object key is held back until the value after it starts, so a truncated
 * stream never ends in a dangling `,` or `"key":`; `completion()` then closes what is open.
 */

type Container = 'object' | 'array';

type State =
  | 'start' // before the top-level `{`
  | 'objectKeyOrEnd' // after `{`
  | 'objectKey' // after `,` in an object
  | 'colon' // after a key
  | 'value' // after `:` or after `,` in an array
  | 'arrayValueOrEnd' // after `[`
  | 'afterValue'
  | 'string'
  | 'number'
  | 'literal'
  | 'done';

type NumberPart = 'sign' | 'zero' | 'int' | 'dot' | 'frac' | 'e' | 'eSign' | 'exp';
const NUMBER_COMPLETE: ReadonlySet<NumberPart> = new Set(['zero', 'int', 'frac', 'exp']);
const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const CONTROL_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
const HEX = /^[0-9a-fA-F]$/;

export class PartialJsonScanner {
  private state: State = 'start';
  private readonly stack: Container[] = [];
  /** Text accepted but not forwarded yet: a `,` and/or an object key with its `:`. */
  private held = '';
  private stringIsKey = false;
  /** An escape sequence in a string, forwarded once complete. */
  private escape: string | undefined;
  private numberPart: NumberPart = 'int';
  private literalRest = '';
  private stopped = false;
  private forwarded = false;

  /** The forwarded text is a complete JSON object. */
  get complete(): boolean {
    return this.state === 'done';
  }

  /** The stream stopped being repairable JSON; nothing more will be forwarded. */
  get broken(): boolean {
    return this.stopped && this.state !== 'done';
  }

  get forwardedAny(): boolean {
    return this.forwarded;
  }

  push(chunk: string): string {
    if (this.stopped || this.state === 'done') return '';
    let out = '';
    for (const ch of chunk) {
      const accepted = this.step(ch);
      if (accepted === undefined) {
        this.stopped = true;
        break;
      }
      out += accepted;
      if (this.complete) break;
    }
    if (out !== '') this.forwarded = true;
    return out;
  }

  /** What to append to the forwarded text to make it a valid JSON object ("" when complete). */
  completion(): string {
    if (this.state === 'done' || !this.forwarded) return '';
    let out = '';
    if (this.state === 'string' && !this.stringIsKey) out += '"';
    else if (this.state === 'number' && !NUMBER_COMPLETE.has(this.numberPart)) out += '0';
    else if (this.state === 'literal') out += this.literalRest;
    for (let i = this.stack.length - 1; i >= 0; i--) out += this.stack[i] === 'object' ? '}' : ']';
    return out;
  }

  /** Returns the text to forward for one character, or undefined if it cannot be accepted. */
  private step(ch: string): string | undefined {
    switch (this.state) {
      case 'string':
        return this.stringChar(ch);
      case 'number':
        if (this.numberChar(ch)) return ch;
        if (!NUMBER_COMPLETE.has(this.numberPart)) return undefined;
        this.state = 'afterValue';
        return this.step(ch);
      case 'literal':
        if (ch !== this.literalRest[0]) return undefined;
        this.literalRest = this.literalRest.slice(1);
        if (this.literalRest === '') this.state = 'afterValue';
        return ch;
      default:
        break;
    }
    if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t') return '';
    switch (this.state) {
      case 'start':
        if (ch !== '{') return undefined;
        this.stack.push('object');
        this.state = 'objectKeyOrEnd';
        return ch;
      case 'objectKeyOrEnd':
        if (ch === '}') return this.close('object');
        return this.startKey(ch);
      case 'objectKey':
        return this.startKey(ch);
      case 'colon':
        if (ch !== ':') return undefined;
        this.held += ':';
        this.state = 'value';
        return '';
      case 'arrayValueOrEnd':
        if (ch === ']') return this.close('array');
        return this.startValue(ch);
      case 'value':
        return this.startValue(ch);
      case 'afterValue': {
        const top = this.stack[this.stack.length - 1];
        if (ch === ',') {
          this.held = ',';
          this.state = top === 'object' ? 'objectKey' : 'value';
          return '';
        }
        if (ch === '}' && top === 'object') return this.close('object');
        if (ch === ']' && top === 'array') return this.close('array');
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private startKey(ch: string): string | undefined {
    if (ch !== '"') return undefined;
    this.held += '"';
    this.stringIsKey = true;
    this.state = 'string';
    return '';
  }

  private startValue(ch: string): string | undefined {
    let accepted: string | undefined = ch;
    if (ch === '{' || ch === '[') {
      this.stack.push(ch === '{' ? 'object' : 'array');
      this.state = ch === '{' ? 'objectKeyOrEnd' : 'arrayValueOrEnd';
    } else if (ch === '"') {
      this.stringIsKey = false;
      this.state = 'string';
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      this.numberPart = ch === '-' ? 'sign' : ch === '0' ? 'zero' : 'int';
      this.state = 'number';
    } else if (ch === 't' || ch === 'f' || ch === 'n') {
      this.literalRest = (ch === 't' ? 'true' : ch === 'f' ? 'false' : 'null').slice(1);
      this.state = 'literal';
    } else accepted = undefined;
    if (accepted === undefined) return undefined;
    const out = this.held + accepted;
    this.held = '';
    return out;
  }

  private close(container: Container): string {
    this.stack.pop();
    this.state = this.stack.length === 0 ? 'done' : 'afterValue';
    return container === 'object' ? '}' : ']';
  }

  private stringChar(ch: string): string | undefined {
    let text: string;
    if (this.escape !== undefined) {
      const sequence = this.escape + ch;
      if (sequence.length === 2 && ch === 'u') {
        this.escape = sequence;
        return '';
      }
      if (sequence.length === 2) {
        this.escape = undefined;
        // An invalid escape is a literal backslash, as pi-ai's JSON repair reads it.
        text = SIMPLE_ESCAPES.has(ch) ? sequence : `\\\\${this.plainChar(ch)}`;
      } else {
        if (!HEX.test(ch)) return undefined;
        if (sequence.length < 6) {
          this.escape = sequence;
          return '';
        }
        this.escape = undefined;
        text = sequence;
      }
    } else if (ch === '\\') {
      this.escape = '\\';
      return '';
    } else if (ch === '"') {
      text = ch;
      this.state = this.stringIsKey ? 'colon' : 'afterValue';
    } else text = this.plainChar(ch);
    if (this.stringIsKey) {
      this.held += text;
      return '';
    }
    return text;
  }

  private plainChar(ch: string): string {
    if (ch >= ' ') return ch;
    return CONTROL_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }

  private numberChar(ch: string): boolean {
    const digit = ch >= '0' && ch <= '9';
    const next = ((): NumberPart | undefined => {
      switch (this.numberPart) {
        case 'sign':
          return ch === '0' ? 'zero' : digit ? 'int' : undefined;
        case 'zero':
          return ch === '.' ? 'dot' : ch === 'e' || ch === 'E' ? 'e' : undefined;
        case 'int':
          return digit ? 'int' : ch === '.' ? 'dot' : ch === 'e' || ch === 'E' ? 'e' : undefined;
        case 'dot':
          return digit ? 'frac' : undefined;
        case 'frac':
          return digit ? 'frac' : ch === 'e' || ch === 'E' ? 'e' : undefined;
        case 'e':
          return ch === '+' || ch === '-' ? 'eSign' : digit ? 'exp' : undefined;
        case 'eSign':
        case 'exp':
          return digit ? 'exp' : undefined;
      }
    })();
    if (next === undefined) return false;
    this.numberPart = next;
    return true;
  }
}
