import type { FakeTurn } from '../../test/fakes/fake-turn.js';

/** Text deltas the fake Codex upstream streams per answer. */
export const TEXT_DELTAS = 20;

/** What the fake Codex upstream answers every request with. */
export const CODEX_TURN: FakeTurn = {
  text: Array.from({ length: TEXT_DELTAS }, (_, i) => `word${i} `),
  usage: { inputTokens: 12_000, outputTokens: TEXT_DELTAS, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
};
