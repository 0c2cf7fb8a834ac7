import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const USER_KEY = 'piapi-user-carol-secret-4242';
const HEADER_KEY = 'sk-provider-header-secret-9999';
const QUERY_KEY = 'sk-provider-query-secret-7777';
const SECRETS = [USER_KEY, HEADER_KEY, QUERY_KEY];

describe('request logs', () => {
  let upstream: RecordingUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startRecordingUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    gw = await startTestGateway(`
providers:
  - name: prov-h
    apiKeys: { k: ${HEADER_KEY} }
    services: [{ type: cc, baseUrl: ${upstream.url}/a, auth: { mode: header, name: x-api-key } }]
  - name: prov-q
    apiKeys: { k: ${QUERY_KEY} }
    services: [{ type: cx, baseUrl: ${upstream.url}/b, auth: { mode: query, name: key } }]
users:
  - { name: carol, apiKey: ${USER_KEY}, providerName: prov-h, providerKeyName: k }
  - { name: dave, apiKeyHash: "sha256:${'0'.repeat(64)}", providerName: prov-q, providerKeyName: k }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  it('writes one JSON line per request with the request facts and no query string', async () => {
    const res = await request(`${gw.url}/piapi/cc/v1/messages?beta=true&key=${USER_KEY}`, {
      method: 'POST',
      headers: { 'x-api-key': USER_KEY, 'content-type': 'application/json' },
      body: '{"hello":"world"}',
    });
    await res.body.text();
    const id = res.headers['x-request-id'];
    await eventually(() => gw.logs.records().some((r) => r.request_id === id));
    const lines = gw.logs.records().filter((r) => r.request_id === id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: 'request completed',
      method: 'POST',
      path: '/piapi/cc/v1/messages',
      status: 200,
      user: 'carol',
      service_type: 'cc',
      upstream_provider: 'prov-h',
      bytes_in: 17,
      bytes_out: 11,
    });
    expect(typeof lines[0].duration_ms).toBe('number');
  });

  it('never writes a user key, provider key or key query parameter, whatever the request', async () => {
    const attempts = [
      request(`${gw.url}/piapi/cc/x?api_key=${USER_KEY}`, { headers: { authorization: `Bearer ${USER_KEY}` } }),
      request(`${gw.url}/piapi/cc/x`, { headers: { 'x-api-key': `${USER_KEY}x` } }),
      request(`${gw.url}/piapi/cc/../x`, { headers: { 'x-api-key': USER_KEY } }),
      request(`${gw.url}/nope?token=${USER_KEY}`, { headers: { authorization: `Bearer ${USER_KEY}` } }),
      request(`${gw.url}/piapi/zz/x`, { headers: { 'x-api-key': USER_KEY } }),
    ];
    for (const res of await Promise.all(attempts)) {
      const text = await res.body.text();
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    }
    await eventually(() => gw.logs.lines.filter((l) => l.includes('request completed')).length >= 6);
    for (const secret of SECRETS) expect(gw.logs.text).not.toContain(secret);
    // The upstream did get the real key: the check above is not vacuous.
    expect(upstream.requests.some((r) => r.headers['x-api-key'] === HEADER_KEY)).toBe(true);
  });
});
