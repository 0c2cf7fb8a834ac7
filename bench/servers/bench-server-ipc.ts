/**
 * The child side of bench/processes/bench-process.ts: announce the URL, answer stats requests,
 * and exit when told to or when the bench goes away (so no server outlives a killed bench).
 */
export function announceListening(url: string, stats: () => unknown = () => ({})): void {
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stats') process.send?.({ type: 'stats', stats: stats() });
  });
  process.once('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
  process.send?.({ type: 'listening', url });
}

/** `127.0.0.1:<port>` → `http://127.0.0.1:<port>`. */
export function loopbackUrl(address: unknown): string {
  const { port } = address as { port: number };
  return `http://127.0.0.1:${port}`;
}
