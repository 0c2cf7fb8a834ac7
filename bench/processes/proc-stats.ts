import { readFileSync } from 'node:fs';
import { childPids } from '../../test/support/child-processes.js';

/** Linux reports utime/stime in clock ticks; 100 on every mainstream kernel config (`getconf CLK_TCK`). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSnapshot {
  /** User + system CPU time consumed so far, in ms (10 ms resolution). */
  cpuMs: number;
  /** Resident set size now, in MiB. */
  rssMiB: number;
  /** Write-type system calls so far (write, writev, sendmsg, …), from `/proc/<pid>/io`. */
  writeCalls: number;
}

/**
 * CPU time, RSS and write calls of a process and its children (the workers of
 * `piapi start --workers`; none for every other bench process), from /proc.
 */
export function readProcSnapshot(pid: number): ProcSnapshot {
  const total = readOneProcess(pid);
  for (const child of childPids(pid)) {
    try {
      const one = readOneProcess(child);
      total.cpuMs += one.cpuMs;
      total.rssMiB += one.rssMiB;
      total.writeCalls += one.writeCalls;
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

/** CPU time and RSS of one process, read from `/proc/<pid>/stat` and `/proc/<pid>/status`. */
function readOneProcess(pid: number): ProcSnapshot {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, rssMiB: rssKb / 1024, writeCalls: writeCalls(pid) };
}

function writeCalls(pid: number): number {
  try {
    return Number(/^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS on an interval and keeps the peak; CPU is read at start and stop. */
export class ProcWatch {
  private readonly first: ProcSnapshot;
  private peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 200,
  ) {
    this.first = readProcSnapshot(pid);
    this.peak = this.first.rssMiB;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, readProcSnapshot(this.pid).rssMiB);
    } catch {
      // The process is gone; stop() reports what was seen.
    }
  }

  stop(): ProcDelta {
    clearInterval(this.timer);
    const last = readProcSnapshot(this.pid);
    this.peak = Math.max(this.peak, last.rssMiB);
    return {
      cpuMs: last.cpuMs - this.first.cpuMs,
      writeCalls: last.writeCalls - this.first.writeCalls,
      rssStartMiB: this.first.rssMiB,
      rssEndMiB: last.rssMiB,
      rssPeakMiB: this.peak,
    };
  }
}

export interface ProcDelta {
  cpuMs: number;
  writeCalls: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssPeakMiB: number;
}
