import type { Api } from '@mariozechner/pi-ai';
import type { ToolChoice } from './anthropic-request.js';

/**
 * Request fields pi-ai's `streamSimple` does not carry (tool choice, stop sequences, sampling),
 * written into the provider payload through pi-ai's `onPayload` hook. Each API spells them its
 * own way; APIs not listed here (Mistral, Bedrock) get none of them rather than a guess.
 */
export interface PayloadControls {
  toolChoice?: ToolChoice;
  stopSequences?: string[];
  topP?: number;
  topK?: number;
}

type Payload = Record<string, unknown>;
export type PayloadPatcher = (payload: unknown) => unknown;

const RESPONSES_APIS: ReadonlySet<string> = new Set(['openai-responses', 'azure-openai-responses', 'openai-codex-responses']);
const GOOGLE_APIS: ReadonlySet<string> = new Set(['google-generative-ai', 'google-vertex']);
/** OpenAI's chat completions API accepts at most four stop sequences. */
const MAX_OPENAI_STOP = 4;

/** An `onPayload` function for these controls, or undefined when there is nothing to add. */
export function payloadPatcher(api: Api, controls: PayloadControls): PayloadPatcher | undefined {
  const patch = patchFor(api, controls);
  if (!patch) return undefined;
  return (payload) => {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    const copy = { ...(payload as Payload) };
    patch(copy);
    return copy;
  };
}

function patchFor(api: Api, c: PayloadControls): ((p: Payload) => void) | undefined {
  const choice = c.toolChoice;
  const stops = c.stopSequences?.length ? c.stopSequences : undefined;
  if (api === 'anthropic-messages') {
    if (!choice && !stops && c.topP === undefined && c.topK === undefined) return undefined;
    return (p) => {
      if (choice && hasItems(p.tools)) p.tool_choice = choice;
      if (stops) p.stop_sequences = stops;
      // Anthropic rejects top_p/top_k with thinking on; the client cannot have asked for both.
      const thinking = (p.thinking as { type?: string } | undefined)?.type;
      if (thinking === undefined || thinking === 'disabled') {
        if (c.topP !== undefined) p.top_p = c.topP;
        if (c.topK !== undefined) p.top_k = c.topK;
      }
    };
  }
  if (api === 'openai-completions') {
    if (!choice && !stops && c.topP === undefined) return undefined;
    return (p) => {
      if (choice && hasItems(p.tools)) {
        p.tool_choice = openAiToolChoice(choice, (name) => ({ type: 'function', function: { name } }));
        if (disablesParallel(choice)) p.parallel_tool_calls = false;
      }
      if (stops) p.stop = stops.slice(0, MAX_OPENAI_STOP);
      if (c.topP !== undefined) p.top_p = c.topP;
    };
  }
  if (RESPONSES_APIS.has(api)) {
    // Responses has no stop sequences, and its reasoning models reject top_p.
    if (!choice) return undefined;
    return (p) => {
      if (!hasItems(p.tools)) return;
      p.tool_choice = openAiToolChoice(choice, (name) => ({ type: 'function', name }));
      if (disablesParallel(choice)) p.parallel_tool_calls = false;
    };
  }
  if (GOOGLE_APIS.has(api)) {
    if (!choice && !stops && c.topP === undefined && c.topK === undefined) return undefined;
    return (p) => {
      const config = { ...((p.config as Payload | undefined) ?? {}) };
      if (choice && hasItems(config.tools)) {
        const mode = choice.type === 'none' ? 'NONE' : choice.type === 'auto' ? 'AUTO' : 'ANY';
        config.toolConfig = {
          functionCallingConfig: { mode, ...(choice.type === 'tool' ? { allowedFunctionNames: [choice.name] } : {}) },
        };
      }
      if (stops) config.stopSequences = stops;
      if (c.topP !== undefined) config.topP = c.topP;
      if (c.topK !== undefined) config.topK = c.topK;
      p.config = config;
    };
  }
  return undefined;
}

function openAiToolChoice(choice: ToolChoice, named: (name: string) => unknown): unknown {
  switch (choice.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return named(choice.name);
  }
}

function disablesParallel(choice: ToolChoice): boolean {
  return choice.type !== 'none' && choice.disable_parallel_tool_use === true;
}

function hasItems(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}
