/** A failure the user can act on: printed as one line, `piapi: <message>`, exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * Wraps a command action: any error becomes one line on stderr and a non-zero exit, never a
 * stack trace. Multi-line messages (a config's error list) keep their lines.
 */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (err) {
      process.stderr.write(`piapi: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(err instanceof CliError ? err.exitCode : 1);
    }
  };
}
