import type { FakeHttpError, FakeScript } from './fake-turn.js';
import { anthropicTurn, fakeSignature } from './anthropic-messages.events.js';
import { startProviderFake, type ProviderFake, type ProviderWire, type TurnContext } from './provider-fake.js';

/**
 * The Anthropic Messages API: `POST …/v1/messages` (any query, e.g. Claude Code's `?beta=true`).
 * Like the real API it requires an `x-api-key` or bearer token, `anthropic-version` and `max_tokens`.
 */
export function startAnthropicMessagesFake(script: FakeScript): Promise<ProviderFake> {
  return startProviderFake(anthropicWire, script);
}

const anthropicWire: ProviderWire = {
  accepts: (req) => req.method === 'POST' && req.path.endsWith('/v1/messages'),
  reject: rejectLikeAnthropic,
  isStream: (body) => body.stream === true,
  events: (turn, ctx) =>
    anthropicTurn(turn, ctx).events.map((event) => ({ event: event.type, data: JSON.stringify(event) })),
  json: (turn, ctx) => anthropicTurn(turn, ctx).message,
  errorBody: (status, message) => ({ type: 'error', error: { type: errorType(status), message } }),
  headers: (ctx) => ({ 'request-id': ctx.nextId('req_') }),
};

function rejectLikeAnthropic({ req, body }: TurnContext): FakeHttpError | undefined {
  if (!req.headers['x-api-key'] && !req.headers.authorization) {
    return { status: 401, message: 'x-api-key header is required' };
  }
  if (!req.headers['anthropic-version']) return { status: 400, message: 'anthropic-version: header is required' };
  if (typeof body.max_tokens !== 'number') return { status: 400, message: 'max_tokens: Field required' };
  return badThinkingSignature(body);
}

/** Like the real API, a replayed thinking block must carry the signature issued for its text. */
function badThinkingSignature(body: Record<string, unknown>): FakeHttpError | undefined {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [];
  for (const [i, message] of messages.entries()) {
    if (message.role !== 'assistant' || !Array.isArray(message.content)) continue;
    for (const [j, block] of (message.content as { type?: unknown; thinking?: unknown; signature?: unknown }[]).entries()) {
      if (block.type === 'thinking' && (typeof block.thinking !== 'string' || block.signature !== fakeSignature(block.thinking))) {
        return { status: 400, message: `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block` };
      }
    }
  }
  return undefined;
}

function errorType(status: number): string {
  const types: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    403: 'permission_error',
    404: 'not_found_error',
    413: 'request_too_large',
    429: 'rate_limit_error',
    529: 'overloaded_error',
  };
  return types[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}
