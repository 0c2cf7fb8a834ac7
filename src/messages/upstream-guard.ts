import type { Api, AssistantMessage, AssistantMessageEvent, Model } from '@mariozechner/pi-ai';
import { emptyAssistantMessage } from './empty-message.js';
import { createRedactor } from './secret-redactor.js';

export interface UpstreamGuardOptions {
  /** Longest wait for the upstream's answer to begin (pi-ai's first event comes with the response headers). */
  headersTimeoutMs: number;
  /** Longest silence between two events once it has begun. */
  idleTimeoutMs: number;
  /** Cancels the upstream request; called when a timeout fires. */
  abortUpstream: () => void;
  model: Pick<Model<Api>, 'api' | 'provider' | 'id'>;
  /** The credentials sent upstream: masked wherever an upstream echoes them into an error message. */
  secrets?: readonly string[];
}

/**
 * What pi-ai does not check about an upstream stream, checked on its events:
 * - an upstream that never answers, or goes silent mid-stream, is cut after the config's
 *   `headersTimeoutMs` / `idleTimeoutMs` (as the pass-through does) and becomes an `error` event;
 * - a `done` without the sign of a complete answer becomes an `error` event (see
 *   {@link incompleteAnswer}), so a cut or garbled upstream response is never passed off as a
 *   complete (or empty) message;
 * - an error message that echoes the credentials we sent (some upstreams quote the key they
 *   got) has them masked before it can reach the client or a log.
 */
export async function* guardUpstream(
  events: AsyncIterable<AssistantMessageEvent>,
  options: UpstreamGuardOptions,
): AsyncGenerator<AssistantMessageEvent> {
  const iterator = events[Symbol.asyncIterator]();
  const redact = createRedactor(options.secrets ?? []);
  let latest: AssistantMessage | undefined;
  for (;;) {
    const limit = latest ? options.idleTimeoutMs : options.headersTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<undefined>((resolve) => {
      timer = setTimeout(resolve, limit, undefined);
    });
    let next: IteratorResult<AssistantMessageEvent> | undefined;
    try {
      next = await Promise.race([iterator.next(), silence]);
    } finally {
      clearTimeout(timer);
    }
    if (next === undefined) {
      options.abortUpstream();
      const why = latest ? `Upstream stream timed out: nothing received for ${limit} ms` : `Upstream timed out: no response within ${limit} ms`;
      yield failed(latest ?? emptyAssistantMessage(options.model, 'error'), why);
      return;
    }
    if (next.done) return;
    const event = next.value;
    if (event.type === 'done') {
      const incomplete = incompleteAnswer(event.message);
      yield incomplete ? failed(event.message, incomplete) : event;
      return;
    }
    if (event.type === 'error') {
      yield failed(event.error, redact(event.error.errorMessage ?? ''), event.reason);
      return;
    }
    latest = event.partial;
    yield event;
  }
}

/**
 * pi-ai ends a stream with `done` whenever the upstream response simply ends, even without the
 * final event that says the answer is complete (it checks that only for Anthropic streams that
 * did start). What a complete answer always carries tells the two apart: the id from Anthropic's
 * `message_start`, and the usage in the Responses API's `response.completed` (a real prompt has
 * input tokens). Gemini's `finishReason` never reaches pi-ai's message: piapi's own transport
 * checks it (gemini/generate-content.stream.ts), as the Codex one checks `response.completed`.
 * Chat-completions streams are taken as they come: pi-ai's message shows no `finish_reason` and
 * no `[DONE]`, and the usage chunk it asks for is not sent by every compatible server (see the
 * README's known gaps). A connection cut inside the body is an error already (undici fails the
 * read).
 */
export function incompleteAnswer(message: AssistantMessage): string | undefined {
  switch (message.api) {
    case 'anthropic-messages':
      return message.responseId ? undefined : 'Upstream answer was not a Messages stream: no message_start';
    case 'openai-responses':
    case 'openai-codex-responses':
    case 'azure-openai-responses': {
      const u = message.usage;
      return u.input + u.output + u.cacheRead + u.cacheWrite + u.totalTokens === 0 ? 'Upstream stream ended before response.completed' : undefined;
    }
    default:
      return undefined;
  }
}

function failed(message: AssistantMessage, errorMessage: string, reason: 'error' | 'aborted' = 'error'): AssistantMessageEvent {
  return { type: 'error', reason, error: { ...message, stopReason: reason, errorMessage } };
}
