import type { Api, AssistantMessageEvent } from '@mariozechner/pi-ai';
import { describe, expect, it, vi } from 'vitest';
import { PiEvents, usage } from '../../test/fixtures/messages/pi-events.js';
import { guardUpstream, incompleteAnswer } from './upstream-guard.js';

const model = { api: 'openai-responses', provider: 'openai', id: 'gpt-test' } as const;

async function collect(events: AsyncIterable<AssistantMessageEvent>): Promise<AssistantMessageEvent[]> {
  const out: AssistantMessageEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

async function* paced(events: AssistantMessageEvent[], gapsMs: number[]): AsyncGenerator<AssistantMessageEvent> {
  for (const [i, event] of events.entries()) {
    await new Promise((r) => setTimeout(r, gapsMs[i] ?? 0));
    yield event;
  }
}

describe('guardUpstream', () => {
  const options = (abort = vi.fn()) => ({ headersTimeoutMs: 40, idleTimeoutMs: 40, abortUpstream: abort, model });

  it('passes a complete stream through unchanged', async () => {
    const pi = new PiEvents('openai-responses').start().textStart(0).textDelta(0, 'hi').textEnd(0).done('stop', usage(10, 2));
    expect(await collect(guardUpstream(paced(pi.events, []), options()))).toEqual(pi.events);
  });

  it('cuts an upstream that never answers: aborts it and ends with a timeout error', async () => {
    const abort = vi.fn();
    const events = await collect(guardUpstream(paced(new PiEvents().start().events, [500]), options(abort)));
    expect(abort).toHaveBeenCalledOnce();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', error: { stopReason: 'error', errorMessage: expect.stringMatching(/timed out: no response/) } });
  });

  it('cuts an upstream that goes silent mid-stream, keeping what it sent', async () => {
    const abort = vi.fn();
    const pi = new PiEvents('openai-responses').start().textStart(0).textDelta(0, 'partial').textEnd(0).done();
    const events = await collect(guardUpstream(paced(pi.events, [0, 0, 0, 500]), options(abort)));
    expect(abort).toHaveBeenCalledOnce();
    expect(events.map((e) => e.type)).toEqual(['start', 'text_start', 'text_delta', 'error']);
    expect(events[3]).toMatchObject({ error: { content: [{ type: 'text', text: 'partial' }], errorMessage: expect.stringMatching(/stream timed out/) } });
  });

  it('turns a done without the sign of a complete answer into an error', async () => {
    const pi = new PiEvents('openai-responses').start().textStart(0).textDelta(0, 'cut').done('stop', usage(0, 0));
    const events = await collect(guardUpstream(paced(pi.events, []), options()));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { errorMessage: 'Upstream stream ended before response.completed' } });
  });
});

describe('guardUpstream secrets', () => {
  it('masks the credentials it was given in an upstream error message', async () => {
    const pi = new PiEvents('anthropic-messages').start().error('429 key plain-secret-value-0001 is over quota');
    const events = await collect(
      guardUpstream(paced(pi.events, []), { headersTimeoutMs: 1000, idleTimeoutMs: 1000, abortUpstream: vi.fn(), model, secrets: ['plain-secret-value-0001'] }),
    );
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { errorMessage: '429 key [REDACTED] is over quota' } });
  });
});

describe('incompleteAnswer', () => {
  const done = (api: Api, input: number, responseId?: string) => {
    const message = new PiEvents(api).done('stop', usage(input, 1)).message;
    return { ...message, usage: { ...message.usage, output: input === 0 ? 0 : 1, totalTokens: input === 0 ? 0 : input + 1 }, ...(responseId ? { responseId } : {}) };
  };

  it('needs the message_start id from Anthropic, usage from the Responses APIs, nothing from chat completions', () => {
    expect(incompleteAnswer(done('anthropic-messages', 10, 'msg_1'))).toBeUndefined();
    expect(incompleteAnswer(done('anthropic-messages', 10))).toMatch(/no message_start/);
    expect(incompleteAnswer(done('openai-responses', 10))).toBeUndefined();
    expect(incompleteAnswer(done('openai-codex-responses', 0))).toMatch(/response.completed/);
    expect(incompleteAnswer(done('openai-completions', 0))).toBeUndefined();
  });
});
