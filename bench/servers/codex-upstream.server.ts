import { startOpenAIResponsesFake } from '../../test/fakes/openai-responses.fake.js';
import { announceListening } from './bench-server-ipc.js';
import { CODEX_TURN } from './codex-turn.js';

/**
 * The Codex (ChatGPT backend) upstream of `/v1/messages`: the test suite's OpenAI Responses fake in
 * its `codex` flavour (checks the JWT, account id header, `stream`, `store` and `instructions`),
 * answering every request with the same streamed text.
 */
const stats = { served: 0, bodyBytes: 0 };
const fake = await startOpenAIResponsesFake(
  (req) => {
    stats.served++;
    stats.bodyBytes += req.body.length;
    // The fake records every request with its body for specs to read; a benchmark would pile up
    // gigabytes of them, so the record is dropped as soon as the request is answered.
    fake.requests.length = 0;
    return CODEX_TURN;
  },
  { flavor: 'codex' },
);

announceListening(fake.url, () => stats);
