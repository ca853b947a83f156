import type { ChannelSpec } from '../channels/channel.ts';
import type { InterceptorSpec } from '../interceptors/interceptor.ts';
import type { SelectorOptions } from '../selectors/spec.ts';
import type { SinkSpec } from '../sinks/sink.ts';
import type { SourceSpec } from '../sources/source.ts';
import type { ConfigProblem } from './problems.ts';
import type { ProcessorOptions } from '../sinks/group.ts';

/** A validated agent configuration: every component with its typed options. */
export interface AgentConfig {
  agent: string;
  file: string;
  sources: SourceConfig[];
  channels: ChannelConfig[];
  sinks: SinkConfig[];
  /** Sinks driven together by a failover or load_balance processor (one runner per group). */
  sinkGroups: SinkGroupConfig[];
  monitoring?: { type: 'http' | 'prometheus'; port: number; host?: string };
  problems: ConfigProblem[];
}

export interface SourceConfig {
  name: string;
  spec: SourceSpec<any>;
  options: object;
  channels: string[];
  selector: SelectorOptions;
  interceptors: { name: string; spec: InterceptorSpec<any>; options: unknown }[];
}

export interface ChannelConfig {
  name: string;
  spec: ChannelSpec<any>;
  options: { transactionCapacity: number };
}

export interface SinkConfig {
  name: string;
  spec: SinkSpec<any>;
  options: { batchSize: number; concurrency?: number };
  channel: string;
}

export interface SinkGroupConfig {
  name: string;
  members: string[];
  processor: ProcessorOptions;
}
