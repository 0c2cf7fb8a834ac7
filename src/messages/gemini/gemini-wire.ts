/**
 * What the Gemini API's `streamGenerateContent?alt=sse` sends, as far as the transport reads it
 * (camelCase JSON; the REST reference's `GenerateContentResponse`). Every field is optional on
 * the wire: a chunk may carry only usage, or only a finish reason.
 */
export interface GeminiChunk {
  candidates?: GeminiCandidate[];
  usageMetadata?: GeminiUsageMetadata;
  /** Set instead of candidates when the prompt itself was blocked. */
  promptFeedback?: { blockReason?: string };
  modelVersion?: string;
  responseId?: string;
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  /** Empty until the model has stopped: the sign of a finished answer. */
  finishReason?: string;
  index?: number;
}

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name?: string; args?: Record<string, unknown> };
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount?: number;
}

/** Google's error body, sent as the whole body of an HTTP error or as a chunk of a failing stream. */
export interface GeminiError {
  error: { code?: number; message?: string; status?: string };
}
