import { getOAuthProvider, type OAuthProviderInterface } from '@mariozechner/pi-ai/oauth';

/** pi-ai's OAuth providers that piapi serves keys for. */
export const OAUTH_PROVIDER_IDS = ['openai-codex', 'anthropic', 'github-copilot'] as const;
export type OAuthProviderId = (typeof OAUTH_PROVIDER_IDS)[number];

export function isOAuthProviderId(id: string): id is OAuthProviderId {
  return (OAUTH_PROVIDER_IDS as readonly string[]).includes(id);
}

/** pi-ai's login/refresh implementation for a supported provider id, else undefined. */
export function oauthProvider(id: string): OAuthProviderInterface | undefined {
  return isOAuthProviderId(id) ? getOAuthProvider(id) : undefined;
}

export function unknownOAuthProviderMessage(id: string): string {
  return `unknown OAuth provider ${JSON.stringify(id)} (supported: ${OAUTH_PROVIDER_IDS.join(', ')})`;
}
