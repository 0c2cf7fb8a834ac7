import { expect } from 'vitest';

/** The Responses API function tool the /v1/responses e2e specs offer (OpenAI SDK shape). */
export const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** What pi-ai's github-copilot models send as VS Code's Copilot Chat does (models.generated.js). */
export const COPILOT_HEADERS = {
  'user-agent': expect.stringMatching(/^GitHubCopilotChat\//),
  'editor-version': expect.stringMatching(/^vscode\//),
  'editor-plugin-version': expect.stringMatching(/^copilot-chat\//),
  'copilot-integration-id': 'vscode-chat',
  'openai-intent': 'conversation-edits',
};
