import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';

/** The hosts pi-ai's OAuth flows call (their URLs are constants in pi-ai). */
export const OAUTH_HOSTS = [
  'auth.openai.com',
  'platform.claude.com',
  'github.com',
  'api.github.com',
  'api.individual.githubcopilot.com',
] as const;

/**
 * Sends this process's `fetch` requests for `hosts` to `origin` (a fake on 127.0.0.1) instead:
 * a real HTTP round trip, only the destination changes. Returns a function that undoes it.
 */
export function routeHostsTo(origin: string, hosts: readonly string[] = OAUTH_HOSTS): () => Promise<void> {
  const previous = getGlobalDispatcher();
  const agent = new Agent().compose(rewriteOrigin(origin, hosts));
  setGlobalDispatcher(agent);
  return async () => {
    setGlobalDispatcher(previous);
    await agent.close();
  };
}

function rewriteOrigin(origin: string, hosts: readonly string[]): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    const host = new URL(String(options.origin)).hostname;
    return dispatch(hosts.includes(host) ? { ...options, origin } : options, handler);
  };
}

const undiciEntry = createRequire(import.meta.url).resolve('undici');

/**
 * The same routing for a child process: writes an ES module into `dir` and returns the Node
 * arguments that load it first (`node <args> bin/piapi.js ...`).
 */
export async function hostRoutingNodeArgs(dir: string, origin: string, hosts: readonly string[] = OAUTH_HOSTS): Promise<string[]> {
  const file = join(dir, 'route-oauth-hosts.mjs');
  await writeFile(
    file,
    `import { createRequire } from 'node:module';
const { Agent, setGlobalDispatcher } = createRequire(${JSON.stringify(undiciEntry)})(${JSON.stringify(undiciEntry)});
const hosts = ${JSON.stringify(hosts)};
const origin = ${JSON.stringify(origin)};
setGlobalDispatcher(new Agent().compose((dispatch) => (options, handler) =>
  dispatch(hosts.includes(new URL(String(options.origin)).hostname) ? { ...options, origin } : options, handler)));
`,
  );
  return ['--import', pathToFileURL(file).href];
}
