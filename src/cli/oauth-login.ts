import type { OAuthCredentials, OAuthLoginCallbacks, OAuthProviderInterface } from '@mariozechner/pi-ai/oauth';
import { CliError } from './cli-error.js';

/** How a login talks to the person running it. */
export interface LoginIO {
  /** Instructions and progress (stderr, so stdout stays clean). */
  say(text: string): void;
  /** Asks for one line of input; undefined once input has ended. */
  ask(question: string): Promise<string | undefined>;
  /** Whether a person can answer questions (a terminal), rather than a pipe or nothing. */
  interactive: boolean;
}

export interface LoginOptions {
  /** GitHub Enterprise domain for github-copilot; blank means github.com. */
  enterprise?: string;
  signal?: AbortSignal;
}

/**
 * Runs pi-ai's login flow for `provider`. Browser flows (openai-codex, anthropic) print the URL
 * and accept either the browser's return to the local callback server or, on a headless
 * machine, the redirect URL pasted as one line; github-copilot is a device-code flow.
 */
export function runOAuthLogin(provider: OAuthProviderInterface, io: LoginIO, options: LoginOptions = {}): Promise<OAuthCredentials> {
  const callbacks: OAuthLoginCallbacks = {
    onAuth: ({ url, instructions }) => {
      io.say(`\nOpen this URL in a browser and log in:\n\n  ${url}\n\n`);
      if (provider.usesCallbackServer) {
        // pi-ai's own words here promise a browser that opens by itself; piapi opens none.
        io.say(
          'The login finishes by itself when the browser is on this machine. If it runs on another one, ' +
            'it ends on a page that does not load: copy that page\'s URL from the address bar, paste it here and press Enter.\n',
        );
      } else if (instructions) {
        io.say(`${instructions}\n`);
      }
    },
    onPrompt: async (prompt) => {
      if (prompt.allowEmpty && (options.enterprise !== undefined || !io.interactive)) return options.enterprise ?? '';
      const line = await io.ask(`${prompt.message}${prompt.placeholder ? ` (e.g. ${prompt.placeholder})` : ''}`);
      if (line === undefined) throw new CliError(`login needs an answer to "${prompt.message}" but input has ended`);
      return line;
    },
    onProgress: (message) => io.say(`${message}\n`),
    signal: options.signal,
  };
  if (provider.usesCallbackServer) {
    // Races the browser callback: whichever comes first wins. At end of input, only the
    // browser is left, so this never settles.
    callbacks.onManualCodeInput = () =>
      io.ask('Paste the redirect URL').then((line) => line ?? new Promise<string>(() => undefined));
  }
  return provider.login(callbacks);
}
