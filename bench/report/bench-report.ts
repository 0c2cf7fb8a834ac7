/** What an item hands back: tables of figures, notes, and targets judged against the figures. */
export interface ItemReport {
  title: string;
  tables: Table[];
  notes: string[];
  targets: Target[];
}

export interface Table {
  /** Optional caption printed above the table. */
  caption?: string;
  headers: string[];
  rows: string[][];
}

export interface Target {
  name: string;
  /** The measured figure, formatted. */
  measured: string;
  /** The goal, e.g. "≥ 0.8× bare proxy". */
  goal: string;
  /** undefined when it could not be measured. */
  pass: boolean | undefined;
}

export function renderItem(report: ItemReport): string {
  const out = [`## ${report.title}`, ''];
  for (const table of report.tables) {
    if (table.caption) out.push(table.caption, '');
    out.push(renderTable(table), '');
  }
  for (const note of report.notes) out.push(`- ${note}`);
  if (report.notes.length > 0) out.push('');
  return out.join('\n');
}

export function renderTargets(targets: readonly Target[]): string {
  return renderTable({
    headers: ['target', 'measured', 'goal', ''],
    rows: targets.map((t) => [t.name, t.measured, t.goal, t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'FAIL']),
  });
}

/** A Markdown table, padded so it also reads as plain text in a terminal. */
export function renderTable({ headers, rows }: Table): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+( ?[%×a-zA-Zµ/]+)?$|^-$|^n\/a$/.test(r[i] ?? '')));
  const cell = (text: string, i: number) => (numeric[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (cells: string[]) => `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...rows.map((r) => line(headers.map((_, i) => r[i] ?? '')))].join('\n');
}

/** Fixed decimals; "-" for NaN. */
export function fmt(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function ratio(value: number, base: number, decimals = 2): string {
  return Number.isFinite(value / base) ? `${(value / base).toFixed(decimals)}×` : '-';
}

export function signedMs(value: number, decimals = 2): string {
  return signed(value, 'ms', decimals);
}

/** `+1.25 ms`, `-3.6 µs`: a difference with its sign and unit. */
export function signed(value: number, unit: string, decimals = 2): string {
  if (!Number.isFinite(value)) return '-';
  return `${value >= 0 ? '+' : ''}${value.toFixed(decimals)} ${unit}`;
}
