import type { ServerResponse } from 'node:http';
import {
  getModel,
  streamSimple,
  type Api,
  type AssistantMessage,
  type AssistantMessageEvent,
  type Context,
  type Message,
  type Model,
  type Usage,
} from '@mariozechner/pi-ai';
import Fastify from 'fastify';
import { announceListening, loopbackUrl } from './bench-server-ipc.js';

/**
 * The "straightforward pi-ai router" `/v1/messages` is compared with: parse the Anthropic body,
 * map it to a pi-ai Context naively, call `streamSimple`, write Anthropic SSE. No auth, no model
 * map, no validation, no logs, no metrics: the simplest thing that answers Claude Code.
 */
const codexUrl = process.env.BENCH_CODEX_URL;
const apiKey = process.env.BENCH_CODEX_JWT;
if (!codexUrl || !apiKey) throw new Error('BENCH_CODEX_URL and BENCH_CODEX_JWT are required');

const model: Model<Api> = { ...getModel('openai-codex', 'gpt-5.1-codex-mini'), baseUrl: codexUrl };
const ZERO_USAGE: Usage = {
  input: 0,
  output: 0,
  cacheRead: 0,
  cacheWrite: 0,
  totalTokens: 0,
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
};

interface AnthropicBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: Record<string, unknown>;
  tool_use_id?: string;
  content?: string | AnthropicBlock[];
}
interface AnthropicBody {
  model: string;
  system?: string | AnthropicBlock[];
  messages: { role: string; content: string | AnthropicBlock[] }[];
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[];
  max_tokens?: number;
}

const fastify = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, requestTimeout: 0, keepAliveTimeout: 65_000 });

fastify.post('/v1/messages', async (req, reply) => {
  const body = req.body as AnthropicBody;
  const abort = new AbortController();
  reply.raw.once('close', () => abort.abort());
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const events = streamSimple(model, toContext(body), { apiKey, transport: 'sse', signal: abort.signal, maxTokens: body.max_tokens });
  for await (const event of events) writeEvent(res, event, body.model);
  res.end();
});

function toContext(body: AnthropicBody): Context {
  const text = (blocks: string | AnthropicBlock[] | undefined): string =>
    typeof blocks === 'string' ? blocks : (blocks ?? []).map((b) => b.text ?? '').join('\n');
  const messages: Message[] = [];
  const timestamp = Date.now();
  for (const m of body.messages) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (m.role === 'assistant') {
      messages.push({
        role: 'assistant',
        content: blocks.map((b) =>
          b.type === 'tool_use'
            ? { type: 'toolCall' as const, id: b.id!, name: b.name!, arguments: b.input ?? {} }
            : { type: 'text' as const, text: b.text ?? '' },
        ),
        api: model.api,
        provider: model.provider,
        model: model.id,
        usage: ZERO_USAGE,
        stopReason: 'stop',
        timestamp,
      });
      continue;
    }
    // user turns, and the system-role turns Claude Code inserts, become user messages
    for (const b of blocks) {
      if (b.type === 'tool_result') {
        messages.push({
          role: 'toolResult',
          toolCallId: b.tool_use_id!,
          toolName: '',
          content: [{ type: 'text', text: text(b.content) }],
          isError: false,
          timestamp,
        });
      }
    }
    const userText = blocks.filter((b) => b.type === 'text').map((b) => b.text ?? '');
    if (userText.length > 0) messages.push({ role: 'user', content: userText.map((t) => ({ type: 'text', text: t })), timestamp });
  }
  return {
    systemPrompt: text(body.system),
    messages,
    tools: (body.tools ?? []).map((t) => ({ name: t.name, description: t.description ?? '', parameters: t.input_schema as never })),
  };
}

function writeEvent(res: ServerResponse, event: AssistantMessageEvent, requestedModel: string): void {
  const send = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  switch (event.type) {
    case 'start':
      send('message_start', {
        message: {
          id: 'msg_naive',
          type: 'message',
          role: 'assistant',
          model: requestedModel,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        },
      });
      return;
    case 'text_start':
      send('content_block_start', { index: event.contentIndex, content_block: { type: 'text', text: '' } });
      return;
    case 'text_delta':
      send('content_block_delta', { index: event.contentIndex, delta: { type: 'text_delta', text: event.delta } });
      return;
    case 'thinking_start':
      send('content_block_start', { index: event.contentIndex, content_block: { type: 'thinking', thinking: '' } });
      return;
    case 'thinking_delta':
      send('content_block_delta', { index: event.contentIndex, delta: { type: 'thinking_delta', thinking: event.delta } });
      return;
    case 'toolcall_start': {
      const call = event.partial.content[event.contentIndex];
      const named = call?.type === 'toolCall' ? call : undefined;
      send('content_block_start', {
        index: event.contentIndex,
        content_block: { type: 'tool_use', id: named?.id ?? '', name: named?.name ?? '', input: {} },
      });
      return;
    }
    case 'toolcall_delta':
      send('content_block_delta', { index: event.contentIndex, delta: { type: 'input_json_delta', partial_json: event.delta } });
      return;
    case 'text_end':
    case 'thinking_end':
    case 'toolcall_end':
      send('content_block_stop', { index: event.contentIndex });
      return;
    case 'done':
      send('message_delta', {
        delta: { stop_reason: stopReason(event.message), stop_sequence: null },
        usage: { input_tokens: event.message.usage.input, output_tokens: event.message.usage.output },
      });
      send('message_stop', {});
      return;
    case 'error':
      send('error', { error: { type: 'api_error', message: event.error.errorMessage ?? 'upstream error' } });
      return;
  }
}

function stopReason(message: AssistantMessage): string {
  if (message.stopReason === 'toolUse') return 'tool_use';
  if (message.stopReason === 'length') return 'max_tokens';
  return 'end_turn';
}

await fastify.listen({ port: 0, host: '127.0.0.1' });
announceListening(loopbackUrl(fastify.server.address()));
