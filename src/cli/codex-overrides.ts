import { resolveUser } from '../auth/key-resolver.js';
import type { GatewayConfig, Provider } from '../config/gateway-config.js';

/** The env variable Codex reads the piapi key from (`env_key` of the model provider). */
export const CODEX_KEY_ENV = 'PIAPI_API_KEY';

/** How Codex reaches its model: the `cx` pass-through, or `/v1/responses` translated through pi-ai. */
export type CodexRoute = 'pass-through' | 'translate';

/** Codex's base URL on the gateway for a route: it posts to `<base_url>/responses`. */
export function codexBaseUrl(gatewayUrl: string, route: CodexRoute): string {
  return route === 'translate' ? `${gatewayUrl}/v1` : `${gatewayUrl}/piapi/cx`;
}

/**
 * The route for the caller's provider: the pass-through when it has a `cx` service (the
 * provider speaks the Responses API itself), the translation when it has only an `llm` block.
 * Without the caller's provider at hand (a remote gateway), the pass-through, as before.
 */
export function codexRoute(provider: Pick<Provider, 'services' | 'llm'> | undefined): CodexRoute {
  if (!provider || provider.services.has('cx')) return 'pass-through';
  return provider.llm ? 'translate' : 'pass-through';
}

/**
 * `codex -c` overrides that add a `piapi` model provider for the gateway and select it,
 * leaving ~/.codex/config.toml alone. Values are TOML; a JSON string is a valid TOML basic string.
 */
export function codexProviderOverrides(gatewayUrl: string, route: CodexRoute = 'pass-through'): string[] {
  const baseUrl = codexBaseUrl(gatewayUrl, route);
  return [
    '-c',
    'model_provider="piapi"',
    '-c',
    `model_providers.piapi={name="piapi",base_url=${JSON.stringify(baseUrl)},wire_api="responses",env_key="${CODEX_KEY_ENV}"}`,
  ];
}

/** The provider of the key's user in the config read here; undefined when the config does not know the key. */
export function callerProvider(config: GatewayConfig | undefined, key: string | undefined): Provider | undefined {
  if (!config || !key) return undefined;
  try {
    return resolveUser(config, key).provider;
  } catch {
    return undefined;
  }
}
