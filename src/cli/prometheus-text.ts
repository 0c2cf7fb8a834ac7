/**
 * The samples of a Prometheus text exposition (format 0.0.4, what /metrics answers): enough for
 * `piapi keys status`, which reads a gateway's /metrics and needs no query language. No installed
 * dependency parses this format (prom-client only writes it), and the sample line is small.
 */

export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export class ExpositionError extends Error {}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n' };

/** Every sample line of `text`; comments (`# HELP`, `# TYPE`) and blank lines are skipped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    try {
      samples.push(parseSample(line));
    } catch (err) {
      throw new ExpositionError(`line ${i + 1} is not a Prometheus sample (${(err as Error).message}): ${line.slice(0, 120)}`);
    }
  });
  return samples;
}

function parseSample(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error('no metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1).trimStart();
    while (!rest.startsWith('}')) {
      const label = LABEL_NAME.exec(rest)?.[0];
      if (!label) throw new Error('bad label name');
      rest = rest.slice(label.length);
      if (!rest.startsWith('="')) throw new Error(`no value for label ${label}`);
      rest = rest.slice(2);
      let value = '';
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw new Error(`unterminated value of label ${label}`);
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === '\\') {
          const escaped = ESCAPES[rest[0] ?? ''];
          if (escaped === undefined) throw new Error(`bad escape in label ${label}`);
          value += escaped;
          rest = rest.slice(1);
        } else value += c;
      }
      labels[label] = value;
      rest = rest.trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
      else if (!rest.startsWith('}')) throw new Error(`no "," or "}" after label ${label}`);
    }
    rest = rest.slice(1);
  }
  // The value, then an optional timestamp.
  const [value, timestamp, extra] = rest.trim().split(/[ \t]+/);
  if (!/^[ \t]/.test(rest) || value === undefined || value === '' || extra !== undefined) throw new Error('no value');
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp)) throw new Error('bad timestamp');
  return { name, labels, value: parseValue(value) };
}

function parseValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || Number.isNaN(value)) throw new Error(`bad value ${JSON.stringify(text)}`);
  return value;
}
