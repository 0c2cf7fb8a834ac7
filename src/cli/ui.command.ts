import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { cancel, confirm, intro, isCancel, log, note, outro, password, select, text } from '@clack/prompts';
import type { Command } from 'commander';
import { writeFileAtomic } from '../providers/atomic-write.js';
import { readCredentialsFile, writeCredentialsFile } from '../providers/credentials-file.js';
import { oauthProvider, type OAuthProviderId } from '../providers/oauth-providers.js';
import { action, CliError } from './cli-error.js';
import { localGatewayUrl } from './gateway-target.js';
import { configErrors } from './local-config.js';
import { runOAuthLogin, type LoginIO } from './oauth-login.js';
import { defaultCredentialsPath, personalConfigPath } from './piapi-home.js';
import { PROVIDER_TEMPLATES, type ProviderKeyValue, type ProviderTemplate } from './provider-templates.js';
import { setupConfigText } from './setup-config.js';
import { newUserKey } from './user-key.js';

export function registerUiCommand(program: Command): void {
  program
    .command('ui')
    .description('interactive setup: provider, login or key, models, listen address and your user key; writes a config')
    .option('-c, --config <file>', 'config file to write (default ~/.piapi/config.yaml)')
    .action(action((options: { config?: string }) => setup(resolve(options.config ?? personalConfigPath()))));
}

async function setup(configPath: string): Promise<void> {
  intro('piapi setup');
  if (existsSync(configPath)) {
    const replace = answer(await confirm({ message: `${configPath} exists. Replace it?`, initialValue: false }));
    if (!replace) {
      outro(`${configPath} left unchanged.`);
      return;
    }
  }
  const templateId = answer(
    await select({
      message: 'Which account should piapi use upstream?',
      options: PROVIDER_TEMPLATES.map((t) => ({ value: t.id, label: t.label })),
    }),
  );
  const template = PROVIDER_TEMPLATES.find((t) => t.id === templateId) as ProviderTemplate;
  const keyName = template.oauth ?? 'main';
  const key: ProviderKeyValue = template.oauth ? await oauthKey(template.oauth) : await apiKey(template);
  const defaultModel = await chooseModel(template);
  const modelMap = await modelMappings(defaultModel);
  const listen = answer(
    await text({
      message: 'Listen address (host:port)',
      initialValue: '127.0.0.1:9200',
      validate: (value) => (isListen(value ?? '') ? undefined : 'use host:port or :port, e.g. 127.0.0.1:9200'),
    }),
  );
  const userName = answer(
    await text({
      message: 'Your user name (shown in logs and metrics)',
      initialValue: userInfo().username,
      validate: (value) => (value?.trim() ? undefined : 'a name is required'),
    }),
  );
  const userKey = await chooseUserKey();

  const configText = setupConfigText({
    template,
    providerName: template.providerName,
    keyName,
    key,
    defaultModel,
    modelMap,
    listen,
    userName: userName.trim(),
    userKey,
  });
  const errors = configErrors(configText);
  if (errors.length > 0) throw new CliError(`the answers do not make a valid config, nothing written:\n  ${errors.join('\n  ')}`);
  await writeFileAtomic(configPath, configText, 0o600);
  note(
    [
      `Your piapi key: ${userKey}`,
      '',
      'piapi code               Claude Code through piapi',
      'piapi codex              Codex CLI through piapi',
      'eval "$(piapi env)"      point other clients at it',
      'piapi start              run the gateway on its own',
    ].join('\n'),
    'Next',
  );
  outro(`Config written to ${configPath}`);
}

/** The value of a prompt, or the end of the setup when the user cancelled (Ctrl-C, Esc). */
function answer<T>(value: T): Exclude<T, symbol> {
  if (isCancel(value)) {
    cancel('Setup cancelled; nothing written.');
    process.exit(1);
  }
  return value as Exclude<T, symbol>;
}

async function oauthKey(oauth: OAuthProviderId): Promise<ProviderKeyValue> {
  const how = answer(
    await select({
      message: 'Credentials',
      options: [
        { value: 'login', label: 'Log in now' },
        { value: 'file', label: 'Use a credentials file saved by "piapi login"' },
      ],
    }),
  );
  if (how === 'file') {
    const file = answer(
      await text({
        message: 'Credentials file',
        initialValue: defaultCredentialsPath(oauth),
        validate: (value) => (value?.trim() ? undefined : 'a path is required'),
      }),
    );
    const credentialsFile = resolve(file.trim());
    try {
      await readCredentialsFile(credentialsFile);
    } catch (err) {
      log.warn(`${(err as Error).message}: the gateway will fail this key's requests until the file is there.`);
    }
    return { oauth, credentialsFile };
  }
  const credentialsFile = resolve(
    answer(await text({ message: 'Save the credentials to', initialValue: defaultCredentialsPath(oauth) })).trim(),
  );
  const credentials = await loginInPrompts(oauth);
  await writeCredentialsFile(credentialsFile, credentials);
  log.success(`Logged in. Credentials saved to ${credentialsFile} (mode 0600).`);
  return { oauth, credentialsFile };
}

/** pi-ai's login with its questions as prompts; a pasted redirect URL is one more prompt. */
async function loginInPrompts(oauth: OAuthProviderId) {
  const done = new AbortController();
  const io: LoginIO = {
    say: (message) => {
      if (message.trim()) log.message(message.trim());
    },
    ask: async (question) => {
      const value = await text({ message: question, signal: done.signal });
      if (!isCancel(value)) return value;
      // Cancelled by us because the browser finished first: nobody waits for this answer.
      if (done.signal.aborted) return new Promise<string>(() => undefined);
      throw new CliError('setup cancelled; nothing written');
    },
    interactive: true,
  };
  try {
    return await runOAuthLogin(oauthProvider(oauth)!, io);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`login failed: ${(err as Error).message.replace(/\s+/g, ' ')}`);
  } finally {
    done.abort();
  }
}

async function apiKey(template: ProviderTemplate): Promise<string> {
  return answer(
    await password({
      message: `${template.label} (or \${ENV_VAR} to read it from the gateway's environment)`,
      validate: (value) => (value?.trim() ? undefined : 'a key is required'),
    }),
  ).trim();
}

const OTHER = '\u0000other';

async function chooseModel(template: ProviderTemplate): Promise<string> {
  const { getModels } = await import('@mariozechner/pi-ai');
  const ids = getModels(template.piProvider as Parameters<typeof getModels>[0]).map((m) => m.id);
  const picked = answer(
    await select({
      message: 'Default model (what clients get unless the model map says otherwise)',
      options: [...ids.map((id) => ({ value: id })), { value: OTHER, label: 'Other (type a model id)' }],
      initialValue: ids.includes(template.suggestedModel) ? template.suggestedModel : ids[0],
      maxItems: 12,
    }),
  );
  if (picked !== OTHER) return picked;
  return answer(await text({ message: 'Model id', validate: (value) => (value?.trim() ? undefined : 'a model id is required') })).trim();
}

async function modelMappings(defaultModel: string): Promise<Record<string, string>> {
  const map: Record<string, string> = {};
  for (;;) {
    const more = answer(
      await confirm({ message: 'Map a model name clients send (e.g. claude-haiku-4-5) to another model?', initialValue: false }),
    );
    if (!more) return map;
    const from = answer(
      await text({ message: 'Model name the client sends', validate: (value) => (value?.trim() ? undefined : 'a name is required') }),
    ).trim();
    map[from] = answer(await text({ message: `Serve ${from} with`, initialValue: defaultModel })).trim();
  }
}

async function chooseUserKey(): Promise<string> {
  const how = answer(
    await select({
      message: 'Your piapi user key (what clients send to the gateway)',
      options: [
        { value: 'new', label: 'Generate a new key' },
        { value: 'own', label: 'Enter a key' },
      ],
    }),
  );
  if (how === 'new') return newUserKey();
  return answer(
    await password({
      message: 'User key (16 or more characters, no spaces)',
      validate: (value) => (/^\S{16,512}$/.test(value ?? '') ? undefined : '16 to 512 characters without whitespace'),
    }),
  );
}

function isListen(value: string): boolean {
  try {
    localGatewayUrl(value);
    return /:\d{1,5}$/.test(value);
  } catch {
    return false;
  }
}
