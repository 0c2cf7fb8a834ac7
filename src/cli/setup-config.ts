import { stringify } from 'yaml';
import { providerEntry, type ProviderKeyValue, type ProviderTemplate } from './provider-templates.js';

/** What `piapi ui` asked. */
export interface SetupAnswers {
  template: ProviderTemplate;
  providerName: string;
  keyName: string;
  key: ProviderKeyValue;
  defaultModel: string;
  /** Client model name → provider model, beyond the default. */
  modelMap: Readonly<Record<string, string>>;
  listen: string;
  userName: string;
  userKey: string;
}

/** The config file text for a one-developer setup. */
export function setupConfigText(answers: SetupAnswers): string {
  const { template } = answers;
  // Claude Code asks for Claude models by name: a provider that has none serves them with the
  // default model unless the map says otherwise.
  const models: Record<string, string> = {
    ...(template.speaksClaudeModels ? {} : { default: answers.defaultModel }),
    ...answers.modelMap,
  };
  const config = {
    listen: answers.listen,
    providers: [providerEntry(template, answers.providerName, answers.keyName, answers.key, answers.defaultModel)],
    users: [
      {
        name: answers.userName,
        apiKey: answers.userKey,
        providerName: answers.providerName,
        providerKeyName: answers.keyName,
      },
    ],
    ...(Object.keys(models).length > 0 ? { models } : {}),
  };
  return (
    '# piapi config written by `piapi ui`. See the README, "Configuration".\n' +
    '# The user key below is a secret: keep this file private (mode 0600).\n' +
    stringify(config)
  );
}
