import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

// Responses the fake itself cut off, so `closedEarly` only reports closes made by the client.
const closedByServer = new WeakSet<ServerResponse>();

export function wasClosedByServer(res: ServerResponse): boolean {
  return closedByServer.has(res);
}

/** Resolves once the connection behind `res` is gone, whoever closed it. */
export function waitForClose(res: ServerResponse): Promise<void> {
  if (res.closed) return Promise.resolve();
  return new Promise((resolve) => res.once('close', () => resolve()));
}

/** Sends nothing more and holds the connection open until the client gives up. */
export function stallUntilClosed(res: ServerResponse): Promise<void> {
  return waitForClose(res);
}

/**
 * Aborts the TCP connection with an RST: the client sees ECONNRESET mid-response. What was
 * written before is flushed first and given a moment to be read, so "N events, then a reset"
 * is what the client observes rather than a race.
 */
export async function resetConnection(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  if (!socket || socket.destroyed) return;
  closedByServer.add(res);
  while (socket.writableLength > 0 && !socket.destroyed) await sleep(1);
  await sleep(20);
  socket.resetAndDestroy();
}

/** Closes the TCP connection (FIN, after pending data) without ending the chunked HTTP body. */
export function closeConnection(res: ServerResponse): void {
  closedByServer.add(res);
  res.socket?.end();
}
