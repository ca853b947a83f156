import type { Channel } from './channels/channel.ts';
import type { AgentConfig } from './config/agent-config.ts';
import { ChannelProcessor } from './core/channel-processor.ts';
import type { Logger } from './core/log.ts';
import { writesFiles } from './core/lifecycle.ts';
import { DEFAULT_RUNNER, SinkRunner } from './core/sink-runner.ts';
import { createSelector } from './selectors/spec.ts';
import type { Sink, SinkDeps } from './sinks/sink.ts';
import { SinkGroup } from './sinks/group.ts';
import type { Source } from './sources/source.ts';
import { snapshotOf, type AgentSnapshot } from './metrics/snapshot.ts';
import type { CounterGroup } from './metrics/counters.ts';

export interface AgentOptions {
  stateDir: string;
  log: Logger;
  /** Where the logger sink prints (stdout, or the dashboard's pane). */
  out: SinkDeps['out'];
  /** A component failed for good (a channel lost its dirs): the agent cannot go on safely. */
  onFatal?(err: Error): void;
}

/**
 * One running agent: the channels, sources and sink runners of a validated
 * config. Start order is channels (replay first), sinks, then sources; stop
 * is the reverse, so sources stop accepting before anything they feed closes.
 */
export class Agent {
  readonly channels = new Map<string, Channel>();
  readonly sources: Source[] = [];
  readonly sinks: Sink[] = [];
  readonly groups: SinkGroup[] = [];
  private readonly runners: SinkRunner[] = [];
  private startedAt = 0;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private starting: Promise<void> | undefined;

  constructor(readonly config: AgentConfig, private readonly opts: AgentOptions) {
    const { log, stateDir } = opts;
    for (const c of config.channels) {
      this.channels.set(c.name, c.spec.create(c.options, { name: c.name, log: log.child(`channel ${c.name}`), stateDir, onFatal: (e) => opts.onFatal?.(e) }));
    }
    const built = new Map<string, Sink>();
    const inGroup = new Set(config.sinkGroups.flatMap((g) => g.members));
    for (const k of config.sinks) {
      // a group delivers decoded events to its members, so only a sink of its own sees the records
      const rawTakes = !inGroup.has(k.name) && this.channels.get(k.channel)?.rawTakes === true;
      const sink = k.spec.create(k.options, { name: k.name, log: log.child(`sink ${k.name}`), out: opts.out, rawTakes });
      built.set(k.name, sink);
      this.sinks.push(sink);
    }
    // what the agent itself writes, for a source that tails files never to read (asked when it starts: every component is built by then)
    const agentWrites = (): string[] => [...this.channels.values(), ...this.sinks, ...this.sources].flatMap((c) => (writesFiles(c) ? c.writesUnder() : []));
    for (const s of config.sources) {
      const slog = log.child(`source ${s.name}`);
      const interceptors = s.interceptors.map((i) => i.spec.create(i.options));
      const selector = createSelector(s.selector, this.channels);
      const processor = new ChannelProcessor(interceptors, selector, slog);
      const source = s.spec.create(s.options, { name: s.name, processor, log: slog, stateDir, agentWrites });
      // what routing did with the source's events, next to its own counts: events no required channel took (a
      // multiplexing selector without a default, the config warns), and events put twice (a put that succeeded on
      // one required channel, then failed on another, is retried on both)
      source.counters.gauge('EventUnroutedCount', () => selector.unroutedEvents);
      source.counters.gauge('EventDuplicatePutCount', () => processor.duplicatedPuts);
      this.sources.push(source);
    }
    for (const k of config.sinks) {
      if (inGroup.has(k.name)) continue;
      const runnerOpts = { ...DEFAULT_RUNNER, batchSize: k.options.batchSize, concurrency: k.options.concurrency ?? 1 };
      this.runners.push(new SinkRunner(built.get(k.name)!, this.channels.get(k.channel)!, runnerOpts, log.child(`sink ${k.name}`)));
    }
    // A group is one runner over one channel; a batch is the smallest of its members' batch sizes.
    for (const g of config.sinkGroups) {
      const members = g.members.map((m) => config.sinks.find((k) => k.name === m)!);
      const glog = log.child(`sinkgroup ${g.name}`);
      const group = new SinkGroup(g.name, members.map((m) => built.get(m.name)!), g.processor, glog);
      this.groups.push(group);
      const batchSize = Math.min(...members.map((m) => m.options.batchSize));
      this.runners.push(new SinkRunner(group, this.channels.get(members[0].channel)!, { ...DEFAULT_RUNNER, batchSize }, glog));
    }
  }

  get counterGroups(): CounterGroup[] {
    return [
      ...this.sources.map((s) => s.counters),
      ...[...this.channels.values()].map((c) => c.counters),
      ...this.sinks.map((s) => s.counters),
      ...this.groups.map((g) => g.counters),
    ];
  }

  snapshot(): AgentSnapshot {
    return snapshotOf(this.config.agent, this.startedAt, this.counterGroups);
  }

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.state = 'starting';
    this.startedAt = Date.now();
    const started: { stop(): Promise<void> }[] = [];
    try {
      for (const c of this.channels.values()) {
        await c.start();
        started.push(c);
      }
      for (const r of this.runners) {
        await r.start();
        started.push(r);
      }
      for (const s of this.sources) {
        await s.start();
        started.push(s);
      }
    } catch (err) {
      for (const c of started.reverse()) await c.stop().catch(() => {});
      this.state = 'stopped';
      throw err;
    }
    this.state = 'running';
    this.opts.log.info(`agent ${this.config.agent} started: ${this.sources.length} sources, ${this.channels.size} channels, ${this.sinks.length} sinks`);
  }

  async stop(): Promise<void> {
    // A stop asked for during start (a signal while the file channel replays) waits for the start to end.
    if (this.state === 'starting') await this.starting!.catch(() => {});
    if (this.state !== 'running') return;
    this.state = 'stopping';
    const errors: unknown[] = [];
    const each = async (list: { stop(): Promise<void> }[]) => {
      await Promise.all(list.map((c) => c.stop().catch((e) => errors.push(e))));
    };
    await each(this.sources);
    await each(this.runners);
    await each([...this.channels.values()]);
    this.state = 'stopped';
    for (const e of errors) this.opts.log.error(`while stopping: ${(e as Error).message}`);
    this.opts.log.info(`agent ${this.config.agent} stopped`);
  }
}
