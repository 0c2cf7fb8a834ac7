/** Bodies of the pass-through benchmark, shaped like OpenAI Responses traffic. */

export const JSON_RESPONSE_BYTES = 1024;
export const SSE_EVENTS = 100;

/** What the client posts: a small Responses request. */
export const PASSTHROUGH_REQUEST_BODY = JSON.stringify({
  model: 'gpt-bench',
  input: [{ role: 'user', content: [{ type: 'input_text', text: 'Say hello to the benchmark.' }] }],
  stream: false,
});

/** A 1 KB Responses object, usage at the end as the real API puts it. */
export function jsonResponseBody(): Buffer {
  const shell = (text: string) =>
    JSON.stringify({
      id: 'resp_bench',
      object: 'response',
      status: 'completed',
      model: 'gpt-bench',
      output: [{ id: 'msg_bench', type: 'message', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }],
      usage: { input_tokens: 1000, output_tokens: 100, total_tokens: 1100 },
    });
  const pad = JSON_RESPONSE_BYTES - Buffer.byteLength(shell(''));
  return Buffer.from(shell('x'.repeat(pad)));
}

/** `response.created`, 98 text deltas, `response.completed` with usage: 100 SSE events. */
export function sseEvents(): string[] {
  const frame = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
  const response = { id: 'resp_bench', object: 'response', model: 'gpt-bench' };
  const out = [frame({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress' } })];
  for (let i = 1; i < SSE_EVENTS - 1; i++) {
    out.push(
      frame({
        type: 'response.output_text.delta',
        sequence_number: i,
        item_id: 'msg_bench',
        output_index: 0,
        content_index: 0,
        delta: 'the quick brown fox jumps over the lazy dog ',
        logprobs: [],
      }),
    );
  }
  out.push(
    frame({
      type: 'response.completed',
      sequence_number: SSE_EVENTS - 1,
      response: { ...response, status: 'completed', usage: { input_tokens: 1000, output_tokens: 98, total_tokens: 1098 } },
    }),
  );
  return out;
}

/** The provider key the pass-through upstream always rate-limits (with `retry-after: 0`). */
export const LIMITED_KEY = 'bench-provider-key-limited';
