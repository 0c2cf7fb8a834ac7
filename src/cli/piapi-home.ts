import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~/.piapi`: the personal config, credentials and logs of one developer. */
export function piapiHome(): string {
  return join(homedir(), '.piapi');
}

export function personalConfigPath(): string {
  return join(piapiHome(), 'config.yaml');
}

/** `--config`, else PIAPI_CONFIG, else ~/.piapi/config.yaml when present, else ./config.yaml. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PIAPI_CONFIG) return env.PIAPI_CONFIG;
  const personal = personalConfigPath();
  return existsSync(personal) ? personal : 'config.yaml';
}

/** Where `piapi login <provider>` saves credentials unless told otherwise. */
export function defaultCredentialsPath(oauthProvider: string): string {
  return join(piapiHome(), 'credentials', `${oauthProvider}.json`);
}
