import {
  createAssistantMessageEventStream,
  registerApiProvider,
  unregisterApiProviders,
  type Api,
  type AssistantMessageEvent,
  type AssistantMessageEventStream,
  type Context,
  type StreamOptions,
} from '@mariozechner/pi-ai';
import fc from 'fast-check';
import { PiEvents } from '../../fixtures/messages/pi-events.js';

/** A pi-ai API served by this process: each request replays the event sequence its prompt names. */
export const SCRIPTED_API = 'piapi-hardening-scripted';

interface BlockScript {
  kind: 'text' | 'thinking' | 'toolCall';
  deltas: string[];
  ends: boolean;
  lateId: boolean;
}

export interface Scenario {
  api: Api;
  blocks: BlockScript[];
  order: number[];
  ending: 'stop' | 'length' | 'toolUse' | 'error' | 'refusal' | 'aborted' | 'none';
  /** Event indexes after which the provider yields to the event loop (chunks arriving apart). */
  pauses: number[];
}

const delta = fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'é', ' ', '\n', '"', '\\', '😀', '\u0000', '<', '}') });
const toolJson = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 20 }),
);

const blockScript: fc.Arbitrary<BlockScript> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), deltas: fc.array(delta, { maxLength: 5 }), ends: fc.boolean(), lateId: fc.constant(false) }),
  fc.record({ kind: fc.constant('thinking' as const), deltas: fc.array(delta, { maxLength: 4 }), ends: fc.boolean(), lateId: fc.constant(false) }),
  fc.record({
    kind: fc.constant('toolCall' as const),
    deltas: fc.tuple(toolJson, fc.array(fc.nat({ max: 30 }), { maxLength: 3 })).map(([json, cuts]) => {
      const points = [...new Set(cuts.map((c) => c % (json.length + 1)))].sort((a, b) => a - b);
      return [...points, json.length].map((p, i, all) => json.slice(i === 0 ? 0 : all[i - 1], p));
    }),
    ends: fc.boolean(),
    lateId: fc.boolean(),
  }),
);

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  api: fc.constantFrom<Api>('anthropic-messages', 'openai-completions', 'openai-responses'),
  blocks: fc.array(blockScript, { maxLength: 5 }),
  order: fc.array(fc.nat(), { maxLength: 60 }),
  ending: fc.constantFrom('stop', 'length', 'toolUse', 'error', 'refusal', 'aborted', 'none'),
  pauses: fc.array(fc.nat({ max: 40 }), { maxLength: 4 }),
});

/** The pi-ai events of a scenario: blocks interleaved as `order` says, then its ending. */
export function scenarioEvents(s: Scenario): AssistantMessageEvent[] {
  const pi = new PiEvents(s.api, 'scripted-model');
  // A complete Anthropic answer always had a message_start with an id.
  pi.message.responseId = 'resp_scripted';
  pi.start();
  const queues = s.blocks.map((b, i) => [{ b, i, step: 'start' }, ...b.deltas.map((d) => ({ b, i, step: d })), ...(b.ends ? [{ b, i, step: 'end' }] : [])]);
  const contentIndex = new Map<number, number>();
  let picks = 0;
  while (queues.some((q) => q.length > 0)) {
    const live = queues.filter((q) => q.length > 0);
    const queue = live[(s.order[picks++] ?? 0) % live.length];
    const { b, i, step } = queue.shift() as { b: BlockScript; i: number; step: string };
    if (!contentIndex.has(i)) {
      contentIndex.set(i, contentIndex.size);
      const ci = contentIndex.get(i) as number;
      if (b.kind === 'text') pi.textStart(ci);
      else if (b.kind === 'thinking') pi.thinkingStart(ci);
      else pi.toolStart(ci, b.lateId ? '' : `call_${picks}|fc_x`, b.lateId ? '' : 'Bash');
      continue;
    }
    const ci = contentIndex.get(i) as number;
    if (step === 'end') {
      if (b.kind === 'text') pi.textEnd(ci);
      else if (b.kind === 'thinking') pi.thinkingEnd(ci, s.api === 'anthropic-messages' ? 'sig' : undefined);
      else pi.toolEnd(ci, { ok: true }, b.lateId ? { id: `late_${ci}`, name: 'Bash' } : undefined);
    } else if (b.kind === 'text') pi.textDelta(ci, step);
    else if (b.kind === 'thinking') pi.thinkingDelta(ci, step);
    else pi.toolDelta(ci, step);
  }
  if (s.ending === 'error') pi.error('500 boom');
  else if (s.ending === 'refusal') pi.error('Provider finish_reason: content_filter');
  else if (s.ending === 'aborted') pi.error('Request was aborted', 'aborted');
  else if (s.ending !== 'none') pi.done(s.ending);
  return pi.events;
}

/**
 * Registers the scripted API: a request whose last user text holds `scenario:<id>` replays the
 * scenario stored under that id, yielding to the event loop where the scenario says so.
 */
export function registerScriptedApi(scenarios: Map<string, Scenario>, onCall?: (options: StreamOptions | undefined) => void): () => void {
  const source = 'hardening-scripted';
  const replay = (_model: unknown, context: Context, options?: StreamOptions): AssistantMessageEventStream => {
    onCall?.(options);
    // What the SDKs inside pi-ai do with the signal: an abort listener they never remove.
    options?.signal?.addEventListener('abort', () => undefined);
    const stream = createAssistantMessageEventStream();
    const id = /scenario:(\d+)/.exec(JSON.stringify(context.messages))?.[1] ?? '';
    const s = scenarios.get(id);
    void (async () => {
      if (!s) {
        stream.end();
        return;
      }
      const events = scenarioEvents(s);
      const pauses = new Set(s.pauses);
      for (const [i, event] of events.entries()) {
        if (pauses.has(i)) await new Promise((r) => setImmediate(r));
        stream.push(event);
      }
      stream.end();
    })();
    return stream;
  };
  registerApiProvider({ api: SCRIPTED_API, stream: replay, streamSimple: replay }, source);
  return () => unregisterApiProviders(source);
}
