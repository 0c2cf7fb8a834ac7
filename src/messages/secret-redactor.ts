/**
 * Masks credentials in text bound for logs or for clients: known secrets by value (provider
 * keys, piapi user keys) and anything shaped like a key.
 */

export const REDACTED = '[REDACTED]';

/** Shapes of credentials seen in requests, upstream error messages and tool output. */
export const DEFAULT_SECRET_PATTERNS: readonly RegExp[] = [
  // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-api03-, sk-ant-oat01-) and look-alikes.
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  // OpenAI's masked form in 401 messages ("sk-proj-****abcd") still names the key's tail.
  /\bsk-[A-Za-z0-9_-]*\*{3,}[A-Za-z0-9_-]*/g,
  /\bpiapi[-_][A-Za-z0-9_-]{8,}/g,
  // JWTs (Codex OAuth access tokens, id tokens).
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
  /\bAIza[0-9A-Za-z_-]{30,}/g,
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bxai-[A-Za-z0-9]{20,}/g,
];

/** `Bearer <token>` and `x-api-key: <key>` keep their label so logs stay readable. */
const LABELLED = /\b(Bearer\s+|(?:x-api-key|api[_-]?key|authorization)["']?\s*[:=]\s*["']?)([A-Za-z0-9._~+/=-]{8,})/gi;

/** Exact secrets shorter than this are not redacted: they would mangle ordinary text. */
const MIN_SECRET_LENGTH = 8;

export type Redactor = (text: string) => string;

export function createRedactor(secrets: Iterable<string> = [], patterns: readonly RegExp[] = DEFAULT_SECRET_PATTERNS): Redactor {
  // Longest first, so a secret containing another is masked whole.
  const exact = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  const global = patterns.map((p) => (p.global ? p : new RegExp(p.source, `${p.flags}g`)));
  return (text) => {
    let out = text;
    for (const secret of exact) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    out = out.replace(LABELLED, (_m, label: string) => `${label}${REDACTED}`);
    for (const pattern of global) out = out.replace(pattern, REDACTED);
    return out;
  };
}

/** Redacts with the default patterns only. */
export const redactSecrets: Redactor = createRedactor();
