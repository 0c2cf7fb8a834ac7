import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { pathCorpus } from './support/path-corpus.js';
import { rawExchange, rawRequest } from './support/raw-http.js';

const KEY = 'piapi-user-paths-000000000001';
const PREFIX = '/base/v1';

/**
 * Every way a server along the way might read a path: as is, fully decoded, `\` as `/`, NFKC,
 * and without `;` path parameters (Tomcat/Jetty read `..;` as `..`).
 */
function readings(url: string): string[] {
  const path = url.split(/[?#]/)[0];
  let decoded = path;
  for (let i = 0; i < 4; i++) {
    try {
      const next = decodeURIComponent(decoded);
      if (next === decoded) break;
      decoded = next;
    } catch {
      break;
    }
  }
  const nfkc = decoded.normalize('NFKC');
  const variants = [path, decoded, decoded.replaceAll('\\', '/'), nfkc, nfkc.replaceAll('\\', '/'), nfkc.replace(/;[^/]*/g, '')];
  return variants.map((v) => new URL(v, 'http://x').pathname);
}

function underPrefix(pathname: string): boolean {
  return pathname === PREFIX || pathname.startsWith(`${PREFIX}/`);
}

describe('hostile request paths', () => {
  let upstream: RecordingUpstream;
  let evil: RecordingUpstream;
  let gw: TestGateway;
  let port: number;
  const outcomes: { name: string; status: number }[] = [];

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    // Nothing in the config points here: any request it receives is an escape.
    evil = await startRecordingUpstream();
    gw = await startTestGateway(`
providers:
  - name: p
    apiKeys: { k: sk-paths-provider-secret-000001 }
    services: [{ type: cx, baseUrl: ${upstream.url}${PREFIX} }]
users:
  - { name: u, apiKey: ${KEY}, providerName: p, providerKeyName: k }
`);
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
    await evil.close();
  });

  const corpus = pathCorpus('127.0.0.1:EVILPORT');

  it('tries at least 50 escapes', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
  });

  it.each(corpus)('$name: forwarded under the base path or refused with a JSON 4xx', async (attempt) => {
    const evilHost = new URL(evil.url).host;
    const target = attempt.target.replaceAll('127.0.0.1:EVILPORT', evilHost);
    const headers: Record<string, string> = { 'x-api-key': KEY };
    const bytes = rawRequest(target, headers);
    const request = attempt.host
      ? Buffer.from(bytes.toString('latin1').replace('Host: 127.0.0.1', `Host: ${attempt.host.replace('127.0.0.1:EVILPORT', evilHost)}`), 'latin1')
      : bytes;
    const before = upstream.requests.length;
    const res = await rawExchange(port, request);
    outcomes.push({ name: attempt.name, status: res.status });

    expect(res.timedOut).toBe(false);
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400) {
      const body = JSON.parse(res.body) as { request_id?: string; error?: unknown };
      expect(body.request_id).toEqual(expect.any(String));
      expect(body.error).toBeDefined();
      expect(upstream.requests.length).toBe(before);
    }
    for (const seen of upstream.requests.slice(before)) {
      for (const reading of readings(seen.url)) expect(underPrefix(reading), `${seen.url} read as ${reading}`).toBe(true);
      expect(seen.headers.host).toBe(new URL(upstream.url).host);
    }
    expect(evil.requests).toHaveLength(0);
  });

  it('sent nothing to any other host and nothing outside the base path, and still answers /healthz', async () => {
    expect(evil.requests).toHaveLength(0);
    for (const seen of upstream.requests) for (const reading of readings(seen.url)) expect(underPrefix(reading), seen.url).toBe(true);
    // The harmless look-alikes went through: the filter is not simply refusing everything.
    expect(outcomes.filter((o) => o.status === 200).map((o) => o.name)).toEqual(
      expect.arrayContaining(['ordinary path', 'dots inside a name', 'encoded space', 'trailing slash']),
    );
    const health = await rawExchange(port, rawRequest('/healthz'));
    expect(health.status).toBe(200);
  });
});
