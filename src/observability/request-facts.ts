import type { IncomingMessage } from 'node:http';

/** What the request log line says about a request, filled in as the request is handled. */
export interface RequestFacts {
  user?: string;
  serviceType?: string;
  provider?: string;
  /** The config's name of the provider key that answered (never its value). */
  providerKey?: string;
  /** Upstream calls made for the request (more than 1 after a key pool's failover). */
  attempts?: number;
  model?: string;
  /** Body byte counts of a streamed exchange, read when the request is logged. */
  meter?: { bytesIn(): number; bytesOut(): number };
  /** Why the response ended early (client abort, upstream idle, ...). */
  outcome?: string;
}

const FACTS = Symbol('piapi.requestFacts');

type WithFacts = IncomingMessage & { [FACTS]?: RequestFacts };

export function requestFacts(req: IncomingMessage): RequestFacts {
  const r = req as WithFacts;
  return (r[FACTS] ??= {});
}

export function peekRequestFacts(req: IncomingMessage): RequestFacts | undefined {
  return (req as WithFacts)[FACTS];
}
