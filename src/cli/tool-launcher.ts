import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CliError } from './cli-error.js';

/**
 * Runs a client tool in this terminal and resolves with its exit code (128 + signal number when
 * a signal ended it). Ctrl-C reaches the tool directly (same process group) and is the tool's
 * to handle, so this process ignores it meanwhile; SIGTERM and SIGHUP are passed on.
 */
export function runTool(command: string, args: readonly string[], env: NodeJS.ProcessEnv, hint: string): Promise<number> {
  const child = spawn(command, args, { stdio: 'inherit', env });
  const ignore = () => undefined;
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  const cleanup = () => {
    process.removeListener('SIGINT', ignore);
    process.removeListener('SIGTERM', forward);
    process.removeListener('SIGHUP', forward);
  };
  return new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      reject(err.code === 'ENOENT' || err.code === 'EACCES' ? new CliError(`cannot run ${command} (${err.code}): ${hint}`) : err);
    });
    child.once('exit', (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
