import { readRepoFile, readYaml } from './repo-files.js';

export const DASHBOARD_FILE = 'deploy/grafana/piapi-dashboard.json';
export const ALERTS_FILE = 'deploy/prometheus/alerts.yaml';

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query?: string }[] };
  __inputs?: unknown[];
}

export interface Query {
  /** Where it comes from: `panel "Title" A` or `alert Name`. */
  source: string;
  expr: string;
}

export function readDashboard(): Dashboard {
  return JSON.parse(readRepoFile(DASHBOARD_FILE)) as Dashboard;
}

/** Panels, with rows' nested panels flattened in. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(dashboard = readDashboard()): Query[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((t) => ({ source: `panel "${panel.title}" ${t.refId}`, expr: t.expr })),
  );
}

export function alertQueries(): Query[] {
  const rules = readYaml<{ groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }>(ALERTS_FILE);
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ source: `alert ${r.alert ?? r.record}`, expr: r.expr })));
}

/**
 * Grafana's own variables replaced the way Grafana would before the query reaches Prometheus.
 * `$__rate_interval` is at least four scrape intervals: 1m for the 15 s scrape interval of
 * deploy/prometheus/prometheus.yml. A query with any other `$variable` would need a value here.
 */
export function withGrafanaVariables(expr: string): string {
  const substituted = expr.replaceAll('$__rate_interval', '1m');
  const left = /\$\{?[A-Za-z_]\w*/.exec(substituted);
  if (left) throw new Error(`no test value for Grafana variable ${left[0]} in: ${expr}`);
  return substituted;
}

/** piapi's own metric names an expression reads (histograms by their series, e.g. `_bucket`). */
export function piapiMetricNames(expr: string): string[] {
  return [...new Set(expr.match(/\bpiapi_[a-z0-9_]+/g) ?? [])];
}

/** Label names an expression uses: `by (...)`, `on (...)` and `{label="..."}` matchers. */
export function labelNames(expr: string): string[] {
  const labels = new Set<string>();
  for (const m of expr.matchAll(/\b(?:by|on|without|ignoring)\s*\(([^)]*)\)/g)) {
    for (const l of m[1].split(',')) if (l.trim() !== '') labels.add(l.trim());
  }
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of m[1].matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(matcher[1]);
  }
  return [...labels];
}
