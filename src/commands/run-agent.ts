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
 * Runs an agent in this process until SIGINT/SIGTERM (or `q` in the
 * dashboard), then stops it cleanly: sources stop accepting, in-flight
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
  const agentLog = useTui ? new Logger({ write: (l) => tuiOut!.write(l) }) : log;
  const agent = new Agent(cfg, { stateDir: opts.stateDir, log: agentLog, out: tuiOut ?? process.stdout });

  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (why: string): Promise<void> => {
    if (stopping) {
      log.warn(`${why} again: exiting now`);
      process.exit(130);
    }
    log.info(`${why}: stopping`);
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

  try {
    await agent.start();
  } catch (err) {
    log.error(`agent ${cfg.agent} failed to start: ${(err as Error).message}`);
    return 1;
  }

  let closeMetrics: (() => Promise<void>) | undefined;
  const port = opts.metricsPort ?? cfg.monitoring?.port;
  if (port !== undefined) {
    const { startMetricsServer } = await import('../metrics/server.ts');
    const server = await startMetricsServer({ host: opts.metricsHost ?? cfg.monitoring?.host ?? '127.0.0.1', port, snapshot: () => agent.snapshot() });
    closeMetrics = server.close;
    log.info(`metrics on http://${opts.metricsHost ?? '127.0.0.1'}:${server.port}/metrics (Prometheus: /metrics/prometheus)`);
  }

  if (useTui) {
    const { runDashboard } = await import('../../tui/dashboard.tsx');
    const ui = runDashboard({
      title: `flume-tail · agent ${cfg.agent}`,
      poll: () => agent.snapshot(),
      recentEvents: () => tuiOut!.lines(),
      onQuit: () => stop('q pressed'),
    });
    await done;
    ui.unmount();
  } else {
    await done;
  }
  await closeMetrics?.();
  return 0;
}
