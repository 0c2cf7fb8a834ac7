/**
 * Request targets that try to make `/piapi/<type>/<rest>` reach something other than
 * `<baseUrl>/<rest>`: another path of the upstream, or another host (`evilHost`, a server the
 * test runs and nothing is configured to reach).
 */
export interface PathAttempt {
  name: string;
  /** The request target, sent byte for byte (latin1: one char, one byte). */
  target: string;
  /** A Host header other than the default, for absolute-form and Host tricks. */
  host?: string;
}

/** Every spelling of "." an upstream, a proxy in front of it or a decoder might turn into ".". */
const DOTS = ['.', '%2e', '%2E'];
const DOUBLE_DOTS = DOTS.flatMap((a) => DOTS.map((b) => a + b));
const ENCODED_DOT_LAYERS = ['%252e', '%252E', '%25252e', '%2525252E'];
/** Look-alikes that NFKC folds to "." (or ".."), as UTF-8 percent-encoding and as raw UTF-8 bytes. */
const LOOKALIKE_DOTS: [string, string][] = [
  ['full-width full stop U+FF0E', '\uff0e'],
  ['one dot leader U+2024', '\u2024'],
  ['small full stop U+FE52', '\ufe52'],
  ['two dot leader U+2025', '\u2025'],
  ['halfwidth ideographic full stop U+FF61', '\uff61'],
];
const LOOKALIKE_SLASHES: [string, string][] = [
  ['full-width solidus U+FF0F', '\uff0f'],
  ['full-width reverse solidus U+FF3C', '\uff3c'],
  ['division slash U+2215', '\u2215'],
  ['fraction slash U+2044', '\u2044'],
];

function utf8Percent(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

function utf8Raw(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

export function pathCorpus(evilHost: string): PathAttempt[] {
  const out: PathAttempt[] = [];
  const add = (name: string, target: string, host?: string) => out.push({ name, target, ...(host ? { host } : {}) });

  // Dot segments in every case combination, leading, inside and trailing.
  for (const dd of DOUBLE_DOTS) {
    add(`dot-dot "${dd}" leading`, `/piapi/cx/${dd}/secret`);
    add(`dot-dot "${dd}" inside`, `/piapi/cx/v1/${dd}/${dd}/admin`);
    add(`dot-dot "${dd}" trailing`, `/piapi/cx/v1/${dd}`);
  }
  for (const d of DOTS) add(`single dot "${d}"`, `/piapi/cx/v1/${d}/x`);
  add('three dots', '/piapi/cx/v1/.../x');
  add('dot-dot then encoded slash', '/piapi/cx/v1/..%2f..%2fadmin');
  add('encoded dot-dot-slash', '/piapi/cx/v1/%2e%2e%2fadmin');
  add('encoded dot-dot-slash upper', '/piapi/cx/v1/%2E%2E%2Fadmin');
  add('dot-dot with path parameter (Tomcat)', '/piapi/cx/..;/..;/admin');
  add('encoded dot-dot with path parameter', '/piapi/cx/%2e%2e;x=1/%2E.;/admin');
  add('dot with path parameter', '/piapi/cx/.;/..;/admin');
  add('dot-dot with trailing spaces encoded', '/piapi/cx/v1/..%20/admin');
  add('IIS %u encoding', '/piapi/cx/v1/%u002e%u002e/admin');
  add('overlong UTF-8 dot (2 bytes)', '/piapi/cx/v1/%c0%ae%c0%ae/admin');
  add('overlong UTF-8 dot (3 bytes)', '/piapi/cx/v1/%e0%80%ae%e0%80%ae/admin');
  add('overlong UTF-8 slash', '/piapi/cx/v1/..%c0%afadmin');

  // Double and triple encoding.
  for (const layer of ENCODED_DOT_LAYERS) add(`layered dot "${layer}"`, `/piapi/cx/v1/${layer}${layer}/admin`);
  add('double-encoded slash', '/piapi/cx/v1/..%252fadmin');
  add('triple-encoded backslash', '/piapi/cx/v1/..%25255cadmin');

  // NUL and control characters.
  add('encoded NUL', '/piapi/cx/v1/a%00b');
  add('encoded NUL then dot-dot', '/piapi/cx/v1/%00/../admin');
  add('double-encoded NUL', '/piapi/cx/v1/a%2500b');
  add('encoded CR LF (response splitting)', '/piapi/cx/v1/a%0d%0aX-Injected:%201');
  add('encoded DEL', '/piapi/cx/v1/a%7fb');
  add('raw NUL', '/piapi/cx/v1/a\u0000b');
  add('raw tab', '/piapi/cx/v1/a\tb');

  // Backslashes, raw and encoded.
  add('raw backslash dot-dot', '/piapi/cx/v1/..\\..\\admin');
  add('raw backslash leading', '/piapi/cx/\\\\evil.example/x');
  add('encoded backslash', '/piapi/cx/v1/..%5cadmin');
  add('encoded backslash upper', '/piapi/cx/v1/..%5Cadmin');
  add('double-encoded backslash', '/piapi/cx/v1/..%255cadmin');

  // Another host: empty segments, scheme-relative, userinfo, absolute URLs.
  add('scheme-relative //host', `/piapi/cx//${evilHost}/x`);
  add('scheme-relative ///host', `/piapi/cx///${evilHost}/x`);
  add('encoded //host', `/piapi/cx/%2f%2f${evilHost}/x`);
  add('backslash-slash host', `/piapi/cx/\\/${evilHost}/x`);
  add('userinfo @host', `/piapi/cx/@${evilHost}/x`);
  add('userinfo user:pass@host', `/piapi/cx/user:pass@${evilHost}/x`);
  add('encoded @', `/piapi/cx/%40${evilHost}/x`);
  add('dot-dot then @host', `/piapi/cx/..@${evilHost}/x`);
  add('absolute URL in rest', `/piapi/cx/http://${evilHost}/x`);
  add('absolute URL in rest, encoded', `/piapi/cx/http:%2f%2f${evilHost}/x`);
  add('absolute URL in rest, no slashes', `/piapi/cx/http:${evilHost}/x`);
  add('absolute-form request target', `http://${evilHost}/piapi/cx/x`, evilHost);
  add('absolute-form with gateway path', `http://${evilHost}/piapi/cx/v1/x`);
  add('Host header of the evil server', '/piapi/cx/v1/x', evilHost);
  add('fragment with dot-dot', '/piapi/cx/v1/x#/../../admin');
  add('query with dot-dot', '/piapi/cx/v1/x?next=/../../admin&u=//evil');

  // Service type tricks.
  add('dot-dot as service type', '/piapi/../cx/x');
  add('encoded dot-dot as service type', '/piapi/%2e%2e/cx/x');
  add('encoded slash in service type', '/piapi/cx%2f..%2f/x');
  add('percent-encoded service type', '/piapi/%63x/v1/x');
  add('gateway path climbs out and back', '/piapi/cx/../../piapi/cx/v1/x');
  add('upper-case prefix', '/PIAPI/cx/../x');

  // Unicode look-alikes, percent-encoded and raw.
  for (const [name, ch] of LOOKALIKE_DOTS) {
    add(`${name} x2, encoded`, `/piapi/cx/v1/${utf8Percent(ch + ch)}/admin`);
    add(`${name} x2, raw UTF-8`, `/piapi/cx/v1/${utf8Raw(ch + ch)}/admin`);
    add(`${name} mixed with ".", encoded`, `/piapi/cx/v1/.${utf8Percent(ch)}/admin`);
  }
  for (const [name, ch] of LOOKALIKE_SLASHES) {
    add(`${name} with dot-dot, encoded`, `/piapi/cx/v1/..${utf8Percent(ch)}admin`);
    add(`${name} with dot-dot, raw UTF-8`, `/piapi/cx/v1/..${utf8Raw(ch)}admin`);
  }

  // Overlong paths.
  add('8 KiB of segments', `/piapi/cx/${'a/'.repeat(4200)}x`);
  add('one 12 KiB segment', `/piapi/cx/${'a'.repeat(12_000)}`);
  add('64 KiB target (header limit)', `/piapi/cx/${'b'.repeat(65_536)}`);
  add('many dot-dots', `/piapi/cx/${'../'.repeat(500)}etc/passwd`);

  // Mixed.
  add('mixed raw and encoded', '/piapi/cx/v1/.%2e/%2e./..%5c%2e%2e/admin');
  add('mixed double-encoded and full-width', `/piapi/cx/v1/%252e${utf8Percent('\uff0e')}/admin`);
  add('mixed NUL and backslash', '/piapi/cx/v1/%00%5c..%5cadmin');
  add('mixed @ and encoded slashes', `/piapi/cx/..%2f..%2f@${evilHost}/x`);

  // Harmless look-alikes that must still work (and stay under the prefix).
  add('ordinary path', '/piapi/cx/v1/responses');
  add('dots inside a name', '/piapi/cx/v1/file.v2..json');
  add('encoded space', '/piapi/cx/v1/a%20b');
  add('trailing slash', '/piapi/cx/v1/');
  return out;
}
