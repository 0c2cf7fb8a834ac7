import type { Api, Context, Model, Tool } from '@mariozechner/pi-ai';
import type { GeminiPart } from './gemini-wire.js';

interface GoogleShared {
  convertMessages(this: void, model: Model<Api>, context: Context): unknown[];
  convertTools(this: void, tools: Tool[], useParameters?: boolean): unknown[] | undefined;
  isThinkingPart(this: void, part: GeminiPart): boolean;
  retainThoughtSignature(this: void, existing: string | undefined, incoming: string | undefined): string | undefined;
}

interface SanitizeUnicode {
  sanitizeSurrogates(this: void, text: string): string;
}

/**
 * pi-ai's own Gemini translation (context → `contents`, tools → `functionDeclarations`, which
 * parts are thoughts), which its google-generative-ai and google-vertex providers share. The
 * package's `exports` map does not list these modules, so they are loaded from the files beside
 * pi-ai's entry point; the version is pinned by package-lock.json and pi-ai-google.spec.ts fails
 * if an upgrade moves or renames them.
 */
const piAi = (path: string): string => new URL(path, import.meta.resolve('@mariozechner/pi-ai')).href;
const shared = (await import(piAi('./providers/google-shared.js'))) as GoogleShared;
const unicode = (await import(piAi('./utils/sanitize-unicode.js'))) as SanitizeUnicode;

export const convertMessages = shared.convertMessages;
export const convertTools = shared.convertTools;
export const isThinkingPart = shared.isThinkingPart;
export const retainThoughtSignature = shared.retainThoughtSignature;
export const sanitizeSurrogates = unicode.sanitizeSurrogates;
