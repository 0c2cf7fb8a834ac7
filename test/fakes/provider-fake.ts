import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from './fake-upstream.js';
import { createIdSource, pickTurn, type FakeHttpError, type FakeScript, type FakeTurn } from './fake-turn.js';
import { sendJson, sendSse, type SseEvent } from './sse-stream.js';

/** What a wire format needs to render a turn for one request. */
export interface TurnContext {
  req: RecordedRequest;
  body: Record<string, unknown>;
  /** The model the client asked for, echoed back as real upstreams do. */
  model: string;
  nextId: (prefix: string) => string;
}

/** One provider's wire format: routing, validation and rendering of a scripted turn. */
export interface ProviderWire {
  accepts(req: RecordedRequest): boolean;
  /** An error the real upstream would answer instead, e.g. for a missing header. */
  reject?(ctx: TurnContext): FakeHttpError | undefined;
  /** Whether to answer with SSE; Gemini tells by the path, the others by the body. */
  isStream(body: Record<string, unknown>, req: RecordedRequest): boolean;
  /** The model asked for, when it is not `body.model` (Gemini names it in the path). */
  modelOf?(req: RecordedRequest): string | undefined;
  events(turn: FakeTurn, ctx: TurnContext): SseEvent[];
  json(turn: FakeTurn, ctx: TurnContext): unknown;
  errorBody(status: number, message: string): unknown;
  /** Response headers such as a request id. */
  headers(ctx: TurnContext): OutgoingHttpHeaders;
}

export interface ProviderFake extends FakeUpstream {
  setScript(script: FakeScript): void;
}

export async function startProviderFake(wire: ProviderWire, script: FakeScript): Promise<ProviderFake> {
  let current = script;
  let served = 0;
  const nextId = createIdSource();
  const upstream = await startFakeUpstream(async (req, res) => {
    if (!wire.accepts(req)) {
      return sendJson(res, wire.errorBody(404, `fake: no route for ${req.method} ${req.path}`), { status: 404 });
    }
    const body = parseBody(req);
    if (!body) return sendJson(res, wire.errorBody(400, 'fake: request body is not a JSON object'), { status: 400 });
    const model = wire.modelOf?.(req) ?? (typeof body.model === 'string' ? body.model : 'unknown');
    const ctx: TurnContext = { req, body, model, nextId };
    const rejection = wire.reject?.(ctx);
    if (rejection) return sendHttpError(res, wire, ctx, rejection, {});
    const turn = pickTurn(current, req, served++);
    if (turn.httpError) return sendHttpError(res, wire, ctx, turn.httpError, turn);
    const options = { headers: wire.headers(ctx), pace: turn.pace, fault: turn.fault };
    if (wire.isStream(body, req)) return sendSse(res, wire.events(turn, ctx), options);
    return sendJson(res, wire.json(turn, ctx), options);
  });
  return {
    ...upstream,
    setScript: (next) => {
      current = next;
    },
  };
}

function sendHttpError(
  res: ServerResponse,
  wire: ProviderWire,
  ctx: TurnContext,
  error: FakeHttpError,
  { pace, fault }: FakeTurn,
): Promise<void> {
  const body = error.body ?? wire.errorBody(error.status, error.message ?? `fake error ${error.status}`);
  const headers = { ...wire.headers(ctx), ...error.headers };
  return sendJson(res, body, { status: error.status, headers, pace, fault });
}

function parseBody(req: RecordedRequest): Record<string, unknown> | undefined {
  try {
    const body: unknown = req.json();
    return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
