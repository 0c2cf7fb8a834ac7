import type { FakeScript } from './fake-turn.js';
import { chatCompletion, chatCompletionChunks } from './chat-completions.events.js';
import { startProviderFake, type ProviderFake, type ProviderWire } from './provider-fake.js';

/** OpenAI chat completions: `POST …/chat/completions`, data-only SSE ending in `data: [DONE]`. */
export function startChatCompletionsFake(script: FakeScript): Promise<ProviderFake> {
  return startProviderFake(chatWire, script);
}

const chatWire: ProviderWire = {
  accepts: (req) => req.method === 'POST' && req.path.endsWith('/chat/completions'),
  isStream: (body) => body.stream === true,
  events: (turn, ctx) =>
    chatCompletionChunks(turn, ctx).map((payload) => ({
      data: typeof payload === 'string' ? payload : JSON.stringify(payload),
    })),
  json: chatCompletion,
  errorBody: (status, message) => ({
    error: {
      message,
      type: status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
      param: null,
      code: status === 429 ? 'rate_limit_exceeded' : null,
    },
  }),
  headers: (ctx) => ({ 'x-request-id': ctx.nextId('req_') }),
};
