// Resource use of a child process from /proc (Linux): peak RSS and CPU seconds.
import { readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux this runs on (USER_HZ). */
const CLK_TCK = 100;

export interface ProcSample {
  /** Peak resident set (VmHWM), bytes. */
  peakRss: number;
  /** Current resident set (VmRSS), bytes. */
  rss: number;
  /** User + system CPU seconds so far. */
  cpuSeconds: number;
}

/** One reading, or undefined once the process is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the ")" of the command name: state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
    return { peakRss: kb('VmHWM'), rss: kb('VmRSS'), cpuSeconds: cpu };
  } catch {
    return undefined;
  }
}

/** Samples a process every `everyMs` and keeps the last reading (VmHWM is already the peak). */
export class ProcWatch {
  last: ProcSample = { peakRss: 0, rss: 0, cpuSeconds: 0 };
  private timer: NodeJS.Timeout;
  constructor(readonly pid: number, everyMs = 100) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): ProcSample {
    const s = sampleProc(this.pid);
    if (s) this.last = { peakRss: Math.max(s.peakRss, this.last.peakRss), rss: s.rss, cpuSeconds: s.cpuSeconds };
    return this.last;
  }
  stop(): ProcSample {
    this.sample();
    clearInterval(this.timer);
    return this.last;
  }
}
