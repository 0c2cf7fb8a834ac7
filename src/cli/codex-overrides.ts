/** The env variable Codex reads the piapi key from (`env_key` of the model provider). */
export const CODEX_KEY_ENV = 'PIAPI_API_KEY';

/**
 * `codex -c` overrides that add a `piapi` model provider for the gateway's `cx` pass-through
 * and select it, leaving ~/.codex/config.toml alone. Codex posts to `<base_url>/responses`.
 * Values are TOML; a JSON string is a valid TOML basic string.
 */
export function codexProviderOverrides(gatewayUrl: string): string[] {
  const baseUrl = `${gatewayUrl}/piapi/cx`;
  return [
    '-c',
    'model_provider="piapi"',
    '-c',
    `model_providers.piapi={name="piapi",base_url=${JSON.stringify(baseUrl)},wire_api="responses",env_key="${CODEX_KEY_ENV}"}`,
  ];
}
