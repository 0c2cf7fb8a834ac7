import type { FakeHttpError, FakeScript } from './fake-turn.js';
import type { RecordedRequest } from './fake-upstream.js';
import { geminiChunks, geminiErrorBody, geminiResponse } from './gemini.events.js';
import { startProviderFake, type ProviderFake, type ProviderWire, type TurnContext } from './provider-fake.js';

/**
 * The Gemini API (generativelanguage): `POST …/models/<model>:streamGenerateContent?alt=sse`
 * (data-only SSE, no `[DONE]`) and `POST …/models/<model>:generateContent`. Like the real API it
 * requires a key, in `x-goog-api-key` or `?key=`, and `contents`. pi-ai's `baseUrl` is
 * `${url}/v1beta` (it sets the SDK's apiVersion to '' and lets the base URL carry it).
 */
export function startGeminiFake(script: FakeScript): Promise<ProviderFake> {
  return startProviderFake(geminiWire, script);
}

const ROUTE = /\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;

const geminiWire: ProviderWire = {
  accepts: (req) => req.method === 'POST' && ROUTE.test(req.path),
  reject: rejectLikeGemini,
  isStream: (_body, req) => ROUTE.exec(req.path)?.[2] === 'streamGenerateContent',
  modelOf: (req) => ROUTE.exec(req.path)?.[1],
  events: (turn, ctx) => geminiChunks(turn, ctx).map((payload) => ({ data: JSON.stringify(payload) })),
  json: geminiResponse,
  errorBody: geminiErrorBody,
  headers: () => ({}),
};

/** The key the request carried, as the real API reads it. */
export function geminiApiKey(req: RecordedRequest): string | undefined {
  const header = req.headers['x-goog-api-key'];
  return (typeof header === 'string' ? header : undefined) ?? req.query.get('key') ?? undefined;
}

function rejectLikeGemini({ req, body }: TurnContext): FakeHttpError | undefined {
  if (!geminiApiKey(req)) {
    return { status: 403, message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API." };
  }
  // Without alt=sse the real API streams one JSON array, which no client here reads.
  if (geminiWire.isStream(body, req) && req.query.get('alt') !== 'sse') {
    return { status: 400, message: 'fake: streamGenerateContent is served with alt=sse only' };
  }
  if (!Array.isArray(body.contents) || body.contents.length === 0) {
    return { status: 400, message: '* GenerateContentRequest.contents: contents is not specified' };
  }
  const model = geminiWire.modelOf?.(req) ?? '';
  if (/gemini-3/.test(model)) return missingThoughtSignature(body.contents as GeminiContent[]);
  return undefined;
}

interface GeminiContent {
  role?: string;
  parts?: Array<{ text?: string; functionCall?: { name?: string }; thoughtSignature?: string }>;
}

/**
 * Gemini 3 validates thought signatures in the current turn (the contents after the last user
 * text): each step's first function call must carry the signature the model gave it, or one of
 * the stand-ins Google documents for history from elsewhere.
 */
function missingThoughtSignature(contents: GeminiContent[]): FakeHttpError | undefined {
  let turnStart = 0;
  contents.forEach((content, i) => {
    if (content.role === 'user' && content.parts?.some((p) => typeof p.text === 'string')) turnStart = i + 1;
  });
  for (const [i, content] of contents.entries()) {
    if (i < turnStart || content.role !== 'model') continue;
    const first = content.parts?.findIndex((p) => p.functionCall) ?? -1;
    if (first === -1 || content.parts![first].thoughtSignature) continue;
    const name = content.parts![first].functionCall!.name;
    return {
      status: 400,
      message: `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
    };
  }
  return undefined;
}
