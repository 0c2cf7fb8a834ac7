import { randomUUID } from 'node:crypto';
import { SerializedPartCache } from '../messages/serialized-parts.js';
import type { ResponsesStreamEvent } from './response-encoder.js';

/**
 * `response.created`, `.in_progress` and `.completed` echo the request's `instructions` and
 * `tools` as OpenAI does, and Codex sends ~7-16 KB of instructions and ~30 KB of tools: three
 * times per answer, serializing and UTF-8 encoding them was the largest cost of a short answer
 * after the upstream call. Both are the request's parsed members, shared by every request that
 * sent the same bytes (repeated-members.ts): their JSON is encoded once and spliced into the
 * event where JSON.stringify would have put it, so the bytes are exactly JSON.stringify's.
 */

const toolsJson = new WeakMap<object, Buffer>();
/** Instructions by their text: a few distinct ones (client versions) at a time. */
const INSTRUCTIONS = new SerializedPartCache<string, string>((a, b) => a === b, (text) => text);

// Stand-ins serialized in place of the echoed members and replaced by their JSON. The nonce
// keeps any text of the event (model output, metadata) from ever matching one.
const nonce = randomUUID();
const INSTRUCTIONS_MARK = `\u0000piapi-instructions-${nonce}`;
const TOOLS_MARK = `\u0000piapi-tools-${nonce}`;
const INSTRUCTIONS_MARK_JSON = JSON.stringify(INSTRUCTIONS_MARK);
const TOOLS_MARK_JSON = JSON.stringify(TOOLS_MARK);

/**
 * SSE frames as OpenAI writes them: the event name repeats the payload's `type`. Frames with
 * echoed members come as the list of their pieces, written as they are (no copy into one).
 */
export function encodeResponsesEvents(events: readonly ResponsesStreamEvent[]): string | Buffer[] {
  const parts: Buffer[] = [];
  let text = '';
  for (const event of events) {
    const echo = echoedParts(event);
    if (echo === undefined) {
      text += `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
      continue;
    }
    text += `event: ${event.type}\ndata: `;
    const json = JSON.stringify({ ...event, response: echo.response });
    let at = 0;
    for (const [mark, encoded] of echo.splices) {
      const index = json.indexOf(mark, at);
      text += json.slice(at, index);
      parts.push(Buffer.from(text), encoded);
      text = '';
      at = index + mark.length;
    }
    text += `${json.slice(at)}\n\n`;
  }
  if (parts.length === 0) return text;
  if (text !== '') parts.push(Buffer.from(text));
  return parts;
}

/** The frames as one text (tests, logs). */
export function framesText(frames: string | readonly Buffer[]): string {
  return typeof frames === 'string' ? frames : Buffer.concat(frames).toString();
}

interface EchoedParts {
  /** The event's response with the stand-ins in place of the echoed members. */
  response: Record<string, unknown>;
  /** Each stand-in's JSON and the encoded JSON that replaces it, in the order they come. */
  splices: Array<[string, Buffer]>;
}

function echoedParts(event: ResponsesStreamEvent): EchoedParts | undefined {
  const response = event.response as Record<string, unknown> | undefined;
  if (response === undefined || response === null) return undefined;
  const { instructions, tools } = response;
  const hasInstructions = typeof instructions === 'string' && instructions.length > 0;
  const hasTools = Array.isArray(tools) && tools.length > 0;
  if (!hasInstructions && !hasTools) return undefined;
  const stand: Record<string, unknown> = { ...response };
  const splices: Array<[string, Buffer]> = [];
  // Both members are in the response object's own order (instructions before tools).
  for (const key of Object.keys(response)) {
    if (key === 'instructions' && hasInstructions) {
      stand.instructions = INSTRUCTIONS_MARK;
      splices.push([INSTRUCTIONS_MARK_JSON, INSTRUCTIONS.get(instructions).json]);
    } else if (key === 'tools' && hasTools) {
      stand.tools = TOOLS_MARK;
      splices.push([TOOLS_MARK_JSON, encodedTools(tools)]);
    }
  }
  return { response: stand, splices };
}

function encodedTools(tools: object): Buffer {
  let json = toolsJson.get(tools);
  if (json === undefined) toolsJson.set(tools, (json = Buffer.from(JSON.stringify(tools))));
  return json;
}
