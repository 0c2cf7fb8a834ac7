/**
 * The built-in demo model: an Anthropic Messages endpoint that answers every request by echoing
 * the last user text, streamed as Anthropic SSE. Lets `/v1/messages` (and Claude Code) work
 * with the example config, offline.
 */
export function demoAnswer(body: unknown): string {
  const messages = (body as { messages?: { role?: string; content?: unknown }[] } | undefined)?.messages ?? [];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const text = textOf(lastUser?.content).trim();
  return text === '' ? 'Hello from the piapi demo model.' : `piapi demo model heard: ${text.slice(0, 500)}`;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block: { type?: string; text?: unknown }) => (block?.type === 'text' && typeof block.text === 'string' ? block.text : ''))
    .join(' ');
}

/** The answer as the Anthropic event sequence, in a few deltas. */
export function demoStream(model: string, answer: string): string {
  const words = answer.split(/(?<= )/);
  const usage = { input_tokens: 10, output_tokens: words.length, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  const events: object[] = [
    { type: 'message_start', message: { id: 'msg_demo', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...words.map((w) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } })),
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage },
    { type: 'message_stop' },
  ];
  return events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
}

export function demoMessage(model: string, answer: string): object {
  return {
    id: 'msg_demo',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: answer }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: answer.split(' ').length },
  };
}
