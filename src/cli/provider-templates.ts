import type { OAuthProviderId } from '../providers/oauth-providers.js';

/** What `piapi ui` offers and `piapi login` adds: one upstream account and how to reach it. */
export interface ProviderTemplate {
  id: string;
  label: string;
  /** pi-ai provider id (`llm.provider`), also where the model list comes from. */
  piProvider: string;
  /** Set when the account is a subscription reached through an OAuth login. */
  oauth?: OAuthProviderId;
  /** Default piapi provider name. */
  providerName: string;
  /** Pass-through services; `cx` is what `piapi codex` uses, `cc` Anthropic clients. */
  services: ReadonlyArray<Record<string, unknown>>;
  /** Whether clients' Claude model names are the provider's own (no `models.default` needed). */
  speaksClaudeModels: boolean;
  suggestedModel: string;
}

/** A key's value in the config; an OAuth key without `credentialsFile` lives in Redis (`state.redis`). */
export type ProviderKeyValue = string | { oauth: OAuthProviderId; credentialsFile?: string };

export const PROVIDER_TEMPLATES: readonly ProviderTemplate[] = [
  {
    id: 'openai-codex',
    label: 'ChatGPT Plus/Pro/Team subscription (log in)',
    piProvider: 'openai-codex',
    oauth: 'openai-codex',
    providerName: 'chatgpt',
    // pi-ai's openai-codex provider posts to https://chatgpt.com/backend-api/codex/responses.
    services: [{ type: 'cx', baseUrl: 'https://chatgpt.com/backend-api/codex' }],
    speaksClaudeModels: false,
    suggestedModel: 'gpt-5.1-codex-max',
  },
  {
    id: 'anthropic',
    label: 'Claude Pro/Max subscription (log in)',
    piProvider: 'anthropic',
    oauth: 'anthropic',
    providerName: 'claude',
    // No `cc` pass-through: subscription tokens need an `anthropic-beta: oauth-…` header that
    // pass-through cannot merge into the client's own list; the Messages API adds it (pi-ai).
    services: [],
    speaksClaudeModels: true,
    suggestedModel: 'claude-sonnet-4-5',
  },
  {
    id: 'github-copilot',
    label: 'GitHub Copilot subscription (log in)',
    piProvider: 'github-copilot',
    oauth: 'github-copilot',
    providerName: 'copilot',
    // Copilot's API host comes with each token, so there is no fixed pass-through base URL.
    services: [],
    speaksClaudeModels: false,
    suggestedModel: 'claude-sonnet-4.5',
  },
  {
    id: 'openai',
    label: 'OpenAI API key',
    piProvider: 'openai',
    providerName: 'openai',
    services: [{ type: 'cx', baseUrl: 'https://api.openai.com/v1' }],
    speaksClaudeModels: false,
    suggestedModel: 'gpt-5.1-codex',
  },
  {
    id: 'anthropic-api',
    label: 'Anthropic API key',
    piProvider: 'anthropic',
    providerName: 'anthropic',
    services: [{ type: 'cc', baseUrl: 'https://api.anthropic.com', auth: { mode: 'header', name: 'x-api-key' } }],
    speaksClaudeModels: true,
    suggestedModel: 'claude-sonnet-4-5',
  },
];

export function templateForOAuth(oauth: OAuthProviderId): ProviderTemplate {
  return PROVIDER_TEMPLATES.find((t) => t.oauth === oauth) as ProviderTemplate;
}

/** A `providers[]` entry for the config file. */
export function providerEntry(
  template: ProviderTemplate,
  name: string,
  keyName: string,
  key: ProviderKeyValue,
  defaultModel?: string,
): Record<string, unknown> {
  return {
    name,
    apiKeys: { [keyName]: key },
    ...(template.services.length > 0 ? { services: template.services.map((s) => ({ ...s })) } : {}),
    llm: { provider: template.piProvider, ...(defaultModel ? { defaultModel } : {}) },
  };
}
