import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What a fake client tool saw and got, written when it exits. */
export interface FakeToolReport {
  argv: string[];
  env: Record<string, string | undefined>;
  /** The request it made to the gateway, as `piapi code`/`codex` configured it. */
  request?: { url: string; status: number; body: string };
}

/**
 * Writes an executable stand-in for `claude` or `codex` into `dir`. It records its arguments and
 * environment, makes one request the way the real tool would with what it was given, and exits
 * with FAKE_TOOL_EXIT (default 0):
 * - `claude`: POST `$ANTHROPIC_BASE_URL/piapi/cc/v1/messages` with `x-api-key: $ANTHROPIC_API_KEY`
 * - `codex`: POST `<base_url>/responses` from the `-c model_providers.piapi={...}` override, with
 *   `Authorization: Bearer $<env_key>`
 */
export async function writeFakeTool(dir: string, kind: 'claude' | 'codex'): Promise<{ path: string; report: () => Promise<FakeToolReport> }> {
  const path = join(dir, `fake-${kind}`);
  const reportPath = join(dir, `fake-${kind}-report.json`);
  await writeFile(
    path,
    `#!/usr/bin/env node
const fs = require('node:fs');
const argv = process.argv.slice(2);
const names = ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'PIAPI_API_KEY', 'HOME'];
const report = { argv, env: Object.fromEntries(names.map((n) => [n, process.env[n]])) };
async function request() {
  let url, headers;
  if (${JSON.stringify(kind)} === 'claude') {
    url = process.env.ANTHROPIC_BASE_URL + '/piapi/cc/v1/messages';
    headers = { 'x-api-key': process.env.ANTHROPIC_API_KEY, 'content-type': 'application/json' };
  } else {
    const provider = argv.find((a) => a.startsWith('model_providers.piapi='));
    if (!provider) return;
    const baseUrl = /base_url="([^"]*)"/.exec(provider)[1];
    const envKey = /env_key="([^"]*)"/.exec(provider)[1];
    url = baseUrl + '/responses';
    headers = { authorization: 'Bearer ' + process.env[envKey], 'content-type': 'application/json' };
  }
  const res = await fetch(url, { method: 'POST', headers, body: '{"model":"m","stream":false}' });
  report.request = { url, status: res.status, body: await res.text() };
}
request()
  .catch((err) => { report.error = String(err); })
  .finally(() => {
    fs.writeFileSync(${JSON.stringify(reportPath)}, JSON.stringify(report));
    process.exit(Number(process.env.FAKE_TOOL_EXIT || 0));
  });
`,
  );
  await chmod(path, 0o755);
  return { path, report: async () => JSON.parse(await readFile(reportPath, 'utf8')) as FakeToolReport };
}
