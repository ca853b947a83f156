import { Agent } from '../agent.ts';
import type { AgentConfig } from '../config/agent-config.ts';
import { formatProblem } from '../config/problems.ts';
import { Logger } from '../core/log.ts';

export interface RunOptions {
  stateDir: string;
  metricsPort?: number;
  metricsHost?: string;
  tui?: boolean;
}

/** Prints the problems of a config; returns true when it has errors (the agent must not start). */
export function reportProblems(cfg: AgentConfig, write: (s: string) => void): boolean {
  for (const p of cfg.problems) write(formatProblem(p) + '\n');
  const errors = cfg.problems.filter((p) => p.severity === 'error').length;
  if (errors > 0) write(`${errors} error${errors > 1 ? 's' : ''} in ${cfg.file}; flume-tail does not start with a broken config.\n`);
  return errors > 0;
}

/**
 * Runs an agent in this process until SIGINT/SIGTERM/SIGHUP, a closed stdout
 * (EPIPE) or `q` in the dashboard, then stops it cleanly: sources stop accepting, in-flight
 * deliveries finish or roll back, channels close. A second signal, or a stop
 * that takes longer than 15 s, exits at once (nothing committed is lost:
 * the channel is the source of truth).
 */
export async function runAgent(cfg: AgentConfig, opts: RunOptions): Promise<number> {
  const log = new Logger();
  if (reportProblems(cfg, (s) => process.stderr.write(s))) return 1;

  let tuiOut: { write(s: string): void; lines(): string[] } | undefined;
  const useTui = opts.tui && process.stdout.isTTY === true;
  if (opts.tui && !useTui) log.warn('--tui needs a terminal on stdout; running without the dashboard');
  if (useTui) {
    const recent: string[] = [];
    tuiOut = {
      write(s: string) {
        for (const l of s.split('\n')) if (l) recent.push(l);
        if (recent.length > 200) recent.splice(0, recent.length - 200);
      },
      lines: () => recent,
    };
  }
  // In --tui mode every log line goes to the dashboard's events pane, never over the dashboard.
  const agentLog = useTui ? new Logger({ write: (l) => tuiOut!.write(l) }) : log;
  let fatal = false;
  const agent = new Agent(cfg, {
    stateDir: opts.stateDir,
    log: agentLog,
    out: tuiOut ?? process.stdout,
    // the component said why (an ERROR line); the agent stops and exits 1, for a supervisor to restart it
    onFatal: () => {
      if (fatal) return;
      fatal = true;
      if (!stopping) void stop('cannot go on');
    },
  });

  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (why: string): Promise<void> => {
    if (stopping) {
      agentLog.warn(`${why} again: exiting now`);
      process.exit(130);
    }
    agentLog.info(`${why}: stopping`);
    const timer = setTimeout(() => {
      log.error('stop took longer than 15 s: exiting (committed events stay in the channel)');
      process.exit(1);
    }, 15_000);
    timer.unref();
    stopping = agent.stop().then(stopped);
    return stopping;
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // Closing the terminal (or the ssh session) sends SIGHUP: a stop like SIGTERM's, not a death that
  // leaves the channel's locks behind and the last positions unsaved.
  process.on('SIGHUP', () => void stop('SIGHUP'));
  // stdout's reader is gone (`flume-tail --watch … | head -3`): the logger sink's write failed with
  // EPIPE and its batch went back into the channel; nothing can be printed any more, so the agent
  // stops as on SIGTERM and exits 0, like CLI tools whose output pipe was closed (the stop is clean
  // and complete; a pipeline under `set -o pipefail` does not fail for it). Other write errors
  // (ENOSPC when stdout is a file on a full disk) are the sink's: it rolls back and retries.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' && !stopping) void stop('stdout closed');
  });
  // The log's own stream may be gone too (`2>&1 | head`, a closed terminal): a line it cannot write is
  // dropped rather than crashing the stop.
  process.stderr.on('error', () => {});

  // The metrics endpoint and the dashboard come up before the agent starts, so a
  // long file-channel replay is visible while it runs.
  let closeMetrics: (() => Promise<void>) | undefined;
  const port = opts.metricsPort ?? cfg.monitoring?.port;
  if (port !== undefined) {
    const { startMetricsServer } = await import('../metrics/server.ts');
    const host = opts.metricsHost ?? cfg.monitoring?.host ?? '127.0.0.1';
    try {
      const server = await startMetricsServer({ host, port, snapshot: () => agent.snapshot() });
      closeMetrics = server.close;
      agentLog.info(`metrics on http://${host}:${server.port}/metrics (Prometheus: /metrics/prometheus)`);
    } catch (err) {
      log.error(`${(err as Error).message}`);
      return 1;
    }
  }
  let ui: { finish(): Promise<void> } | undefined;
  if (useTui) {
    const { runDashboard } = await import('../../tui/dashboard.tsx');
    ui = runDashboard({
      title: `flume-tail · agent ${cfg.agent}`,
      poll: () => agent.snapshot(),
      recentEvents: () => tuiOut!.lines(),
      onQuit: () => stop('q pressed'),
    });
  }

  try {
    await agent.start();
  } catch (err) {
    await ui?.finish();
    await closeMetrics?.();
    log.error(`agent ${cfg.agent} failed to start: ${(err as Error).message}`);
    return 1;
  }
  await done;
  await ui?.finish();
  await closeMetrics?.();
  return fatal ? 1 : 0;
}
