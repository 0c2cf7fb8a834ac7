import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';

export interface SwarmSpec {
  url: string;
  path: string;
  headers: Record<string, string>;
  streams: number;
  /** SSE events a complete stream carries. */
  expectedEvents: number;
  /** Streams opened per batch, and the pause between batches (a burst of connects would overflow the listen backlog). */
  batch: number;
  batchPauseMs: number;
  /** Streams still open then are aborted and counted as lost. */
  deadlineMs: number;
}

export interface SwarmResult {
  opened: number;
  completed: number;
  /** Failure description → count. */
  failures: Map<string, number>;
  /** Per completed stream: request sent → first event, in ms. */
  firstEventMs: number[];
  /** Most streams open at once as the client saw them (response headers received, body not ended). */
  peakOpen: number;
  wallMs: number;
}

/** Opens `streams` concurrent SSE streams (one connection each) and checks every one ends complete. */
export async function runStreamSwarm(spec: SwarmSpec): Promise<SwarmResult> {
  const agent = new Agent({ connections: spec.streams + 16, pipelining: 1, headersTimeout: spec.deadlineMs, bodyTimeout: spec.deadlineMs });
  const deadline = AbortSignal.timeout(spec.deadlineMs);
  // Every stream listens on this one signal.
  setMaxListeners(0, deadline);
  const result: SwarmResult = { opened: 0, completed: 0, failures: new Map(), firstEventMs: [], peakOpen: 0, wallMs: 0 };
  let open = 0;
  const fail = (reason: string) => result.failures.set(reason, (result.failures.get(reason) ?? 0) + 1);

  const one = async (): Promise<void> => {
    const started = performance.now();
    result.opened++;
    try {
      const res = await agent.request({ origin: spec.url, path: spec.path, method: 'GET', headers: spec.headers, signal: deadline });
      open++;
      result.peakOpen = Math.max(result.peakOpen, open);
      let text = '';
      let firstEvent: number | undefined;
      try {
        for await (const chunk of res.body) {
          text += (chunk as Buffer).toString('utf8');
          if (firstEvent === undefined && text.includes('\n\n')) firstEvent = performance.now() - started;
        }
      } finally {
        open--;
      }
      const events = text.split('\n\n').length - 1;
      if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}`);
      else if (events !== spec.expectedEvents) fail(`${events} of ${spec.expectedEvents} events`);
      else {
        result.completed++;
        result.firstEventMs.push(firstEvent ?? Number.NaN);
      }
    } catch (err) {
      fail(deadline.aborted ? 'still open at the deadline' : ((err as Error).message ?? String(err)));
    }
  };

  const started = performance.now();
  const running: Promise<void>[] = [];
  for (let i = 0; i < spec.streams; i += spec.batch) {
    for (let j = i; j < Math.min(spec.streams, i + spec.batch); j++) running.push(one());
    await sleep(spec.batchPauseMs);
  }
  await Promise.all(running);
  result.wallMs = performance.now() - started;
  await agent.close();
  return result;
}
