import type { FakeHttpError, FakeScript } from './fake-turn.js';
import { readCodexAccountId } from './fake-jwt.js';
import { startProviderFake, type ProviderFake, type ProviderWire, type TurnContext } from './provider-fake.js';
import { responsesTurn } from './openai-responses.events.js';

export interface OpenAIResponsesFakeOptions {
  /**
   * `codex` behaves like the ChatGPT backend behind openai-codex: it checks the JWT and
   * `chatgpt-account-id` header and rejects what that backend rejects (stream false, store
   * not false, no instructions). Default `openai`.
   */
  flavor?: 'openai' | 'codex';
}

/**
 * The OpenAI Responses API. Answers `POST …/responses` on any prefix, so one fake serves
 * `openai-responses` (baseUrl `<url>/v1`) and `openai-codex-responses` (baseUrl `<url>`,
 * path `/codex/responses`).
 */
export function startOpenAIResponsesFake(
  script: FakeScript,
  options: OpenAIResponsesFakeOptions = {},
): Promise<ProviderFake> {
  return startProviderFake(responsesWire(options.flavor ?? 'openai'), script);
}

function responsesWire(flavor: 'openai' | 'codex'): ProviderWire {
  return {
    accepts: (req) => req.method === 'POST' && req.path.endsWith('/responses'),
    reject: flavor === 'codex' ? rejectLikeChatGPTBackend : undefined,
    isStream: (body) => body.stream === true,
    events: (turn, ctx) =>
      responsesTurn(turn, ctx).events.map((event) => ({ event: event.type, data: JSON.stringify(event) })),
    json: (turn, ctx) => responsesTurn(turn, ctx).response,
    errorBody: (status, message) => ({
      error: { message, type: errorType(status), param: null, code: errorCode(status) },
    }),
    headers: (ctx) => ({ 'x-request-id': ctx.nextId('req_') }),
  };
}

// The ChatGPT backend answers these with `{"detail": …}` bodies.
function rejectLikeChatGPTBackend({ req, body }: TurnContext): FakeHttpError | undefined {
  const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const accountId = token ? readCodexAccountId(token) : undefined;
  if (!accountId) return { status: 401, body: { detail: 'Unauthorized' } };
  if (req.headers['chatgpt-account-id'] !== accountId) {
    return { status: 403, body: { detail: 'chatgpt-account-id does not match the token' } };
  }
  if (body.stream !== true) return { status: 400, body: { detail: 'Stream must be set to true' } };
  if (body.store !== false) return { status: 400, body: { detail: 'Store must be set to false' } };
  if (typeof body.instructions !== 'string') return { status: 400, body: { detail: 'Instructions are required' } };
  return undefined;
}

function errorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status === 401) return 'authentication_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function errorCode(status: number): string | null {
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 401) return 'invalid_api_key';
  return null;
}
