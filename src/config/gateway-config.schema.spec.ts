import { describe, expect, it } from 'vitest';
import { errorsOf, toYaml, validConfig, type ConfigTree as Config } from '../../test/support/config-fixtures.js';
import { parseConfig } from './config-loader.js';

/** The errors of `validConfig()` after `change`. */
function errorsAfter(change: (config: Config) => void): string[] {
  const config = validConfig();
  change(config);
  return errorsOf(parseConfig(toYaml(config), {}));
}

describe('unknown fields', () => {
  it.each<[string, (c: Config) => void, string]>([
    ['the top level', (c) => (c.provider = []), 'provider: unknown field'],
    ['a provider', (c) => (c.providers[1].apiKey = 'k'), 'providers[1].apiKey: unknown field'],
    ['a service', (c) => (c.providers[0].services[1].auht = { mode: 'header', name: 'x' }), 'providers[0].services[1].auht: unknown field'],
    ['a service auth', (c) => (c.providers[0].services[0].auth.header = 'x'), 'providers[0].services[0].auth.header: unknown field'],
    ['a user', (c) => (c.users[2].provider = 'provider-alpha'), 'users[2].provider: unknown field'],
    ['http', (c) => (c.http = { maxBodySize: 1 }), 'http.maxBodySize: unknown field'],
    ['logging', (c) => (c.logging = { lvl: 'debug' }), 'logging.lvl: unknown field'],
    ['a provider llm', (c) => (c.providers[0].llm = { provider: 'anthropic', model: 'x' }), 'providers[0].llm.model: unknown field'],
  ])('are refused in %s, with their full path', (_level, change, expected) => {
    expect(errorsAfter(change)).toEqual([expected]);
  });

  it('are all reported, not just the first', () => {
    expect(
      errorsAfter((c) => {
        c.extra = 1;
        c.users[0].extra = 1;
        c.users[1].extra = 1;
      }),
    ).toEqual(['extra: unknown field', 'users[0].extra: unknown field', 'users[1].extra: unknown field']);
  });

  it.each(['__proto__', 'constructor'])('include %s, which a careless parser would drop silently', (name) => {
    const text = `${toYaml(validConfig())}\n${name}: { polluted: true }\n`;
    expect(errorsOf(parseConfig(text, {}))).toEqual([`${name}: "${name}" is a reserved name`]);
  });

  it('include a reserved name used as a provider key name', () => {
    const config = validConfig();
    const text = toYaml(config).replace('main-key: sk-alpha', 'constructor: sk-alpha');
    expect(errorsOf(parseConfig(text, {}))).toContain('providers[0].apiKeys.constructor: "constructor" is a reserved name');
  });
});

describe('wrong types', () => {
  it.each<[string, (c: Config) => void, string[]]>([
    ['providers: 5', (c) => (c.providers = 5), ['providers: must be a list']],
    ['providers as a mapping', (c) => (c.providers = { alpha: c.providers[0] }), ['providers: must be a list']],
    ['a provider that is a string', (c) => (c.providers[1] = 'provider-beta'), ['providers[1]: must be a mapping']],
    ['users: [null]', (c) => (c.users = [null]), ['users[0]: must be a mapping']],
    ['a user that is a list', (c) => (c.users[1] = []), ['users[1]: must be a mapping']],
    ['users: 5', (c) => (c.users = 5), ['users: must be a list']],
    [
      'apiKeys: [1, 2]',
      (c) => (c.providers[1].apiKeys = [1, 2]),
      ['providers[1].apiKeys: must be a mapping of names to a non-empty key string or { oauth, credentialsFile }'],
    ],
    [
      'a provider key that is a number',
      (c) => (c.providers[1].apiKeys['prod-key'] = 5),
      ['providers[1].apiKeys: "prod-key" must be a non-empty key string or { oauth, credentialsFile }'],
    ],
    [
      'an empty provider key',
      (c) => (c.providers[1].apiKeys['prod-key'] = ''),
      ['providers[1].apiKeys: "prod-key" must be a non-empty key string or { oauth, credentialsFile }'],
    ],
    ['services as a mapping', (c) => (c.providers[1].services = { cx: {} }), ['providers[1].services: must be a list']],
    ['a service that is null', (c) => (c.providers[1].services = [null]), ['providers[1].services[0]: must be a mapping']],
    ['a service that is a list', (c) => (c.providers[1].services = [[]]), ['providers[1].services[0]: must be a mapping']],
    ['auth as a string', (c) => (c.providers[0].services[0].auth = 'x-api-key'), ['providers[0].services[0].auth: must be a mapping']],
    ['auth as an empty list', (c) => (c.providers[0].services[0].auth = []), ['providers[0].services[0].auth: must be a mapping']],
    ['an unknown auth mode', (c) => (c.providers[0].services[0].auth.mode = 'cookie'), ['providers[0].services[0].auth.mode: must be "header" or "query"']],
    [
      'an auth name that is not a header name',
      (c) => (c.providers[0].services[0].auth.name = 'x api key'),
      ['providers[0].services[0].auth.name: must be a valid header or query parameter name'],
    ],
    ['a service type with capitals', (c) => (c.providers[1].services[0].type = 'Codex'), ['providers[1].services[0].type: must be lowercase letters, digits, "_" or "-"']],
    [
      'a header value that is a number',
      (c) => (c.providers[1].services[0].headers = { 'x-version': 2 }),
      ['providers[1].services[0].headers: "x-version" must be a string header value'],
    ],
    ['http: 5', (c) => (c.http = 5), ['http: must be a mapping']],
    ['http as a list', (c) => (c.http = [{ maxBodyBytes: 1 }]), ['http: must be a mapping']],
    ['http.maxBodyBytes as text', (c) => (c.http = { maxBodyBytes: '64MiB' }), ['http.maxBodyBytes: must be an integer']],
    ['a fractional timeout', (c) => (c.http = { idleTimeoutMs: 1.5 }), ['http.idleTimeoutMs: must be an integer']],
    ['a zero timeout', (c) => (c.http = { connectTimeoutMs: 0 }), ['http.connectTimeoutMs: must not be less than 1']],
    ['a tiny body limit', (c) => (c.http = { maxBodyBytes: 10 }), ['http.maxBodyBytes: must not be less than 1024']],
    ['listen: 9200', (c) => (c.listen = 9200), ['listen: must be a string']],
    ['listen without a port', (c) => (c.listen = 'localhost'), ['listen: must be "host:port" or ":port"']],
    ['logging.level: loud', (c) => (c.logging = { level: 'loud' }), ['logging.level: must be one of the following values: trace, debug, info, warn, error, fatal, silent']],
    ['demo: yes', (c) => (c.demo = 'yes'), ['demo: must be true or false']],
    ['a user name that is a number', (c) => (c.users[0].name = 5), ['users[0].name: must be a string']],
    ['a user apiKey that is a number', (c) => (c.users[0].apiKey = 1234567890123456), ['users[0].apiKey: must be a string']],
    ['a short user apiKey', (c) => (c.users[0].apiKey = 'short'), ['users[0].apiKey: must be 16 to 512 characters without whitespace']],
    [
      'an apiKeyHash without the sha256: prefix',
      (c) => (c.users[2].apiKeyHash = c.users[2].apiKeyHash.slice('sha256:'.length)),
      ['users[2].apiKeyHash: must be "sha256:" followed by 64 lowercase hex digits'],
    ],
    ['models as a list', (c) => (c.models = []), ['models: must be a mapping']],
  ])('%s gives one error at its path', (_case, change, expected) => {
    expect(errorsAfter(change)).toEqual(expected);
  });

  it.each<[string, (c: Config) => void, string]>([
    ['providers', (c) => delete c.providers, 'providers: is required'],
    ['users', (c) => delete c.users, 'users: is required'],
    ['a provider name', (c) => delete c.providers[0].name, 'providers[0].name: is required'],
    ['provider keys', (c) => delete c.providers[1].apiKeys, 'providers[1].apiKeys: is required'],
    ['a service type', (c) => delete c.providers[1].services[0].type, 'providers[1].services[0].type: is required'],
    ['a service baseUrl', (c) => delete c.providers[1].services[0].baseUrl, 'providers[1].services[0].baseUrl: is required'],
    ['an auth name', (c) => delete c.providers[0].services[0].auth.name, 'providers[0].services[0].auth.name: is required'],
    ['a user providerKeyName', (c) => (c.users[1].providerKeyName = null), 'users[1].providerKeyName: is required'],
  ])('a missing %s is reported as required', (_field, change, expected) => {
    expect(errorsAfter(change)).toContain(expected);
  });
});

describe('service baseUrl', () => {
  it.each(['http://127.0.0.1:8080', 'https://api.anthropic.com', 'https://api.openai.com/v1/', 'http://[::1]:9000/base'])('accepts %s', (baseUrl) => {
    expect(errorsAfter((c) => (c.providers[1].services[0].baseUrl = baseUrl))).toEqual([]);
  });

  it.each([
    ['a host without scheme', 'api.openai.com/v1'],
    ['a relative path', '/v1'],
    ['another scheme', 'ftp://files.example.com'],
    ['a websocket URL', 'wss://api.example.com'],
    ['credentials', 'https://user:pass@api.example.com'],
    ['a query', 'https://api.example.com/v1?key=1'],
    ['a fragment', 'https://api.example.com/v1#top'],
    ['an empty string', ''],
  ])('refuses %s', (_case, baseUrl) => {
    expect(errorsAfter((c) => (c.providers[1].services[0].baseUrl = baseUrl))).toEqual([
      `providers[1].services[0].baseUrl: ${JSON.stringify(baseUrl)} is not an absolute http(s) URL without query, fragment or credentials`,
    ]);
  });
});
