import { request } from 'undici';

/** The gateway's `/metrics` text. */
export async function scrape(baseUrl: string): Promise<string> {
  return (await request(`${baseUrl}/metrics`)).body.text();
}

/** A series' value in a scrape (0 when absent): gateways of one test process share prom-client's registry. */
export function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
