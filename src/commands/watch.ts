import { join, resolve } from 'node:path';
import type { AgentConfig } from '../config/agent-config.ts';
import { loadConfigText } from '../config/load.ts';
import { registry } from '../registry.ts';

export interface WatchArgs {
  watch: string[];
  exclude: string[];
  fromBeginning: boolean;
  dataDir: string;
  http?: string;
  netcat?: string;
  byteOffset: boolean;
}

/** Escapes a value for a properties file (backslashes, and leading whitespace). */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/^\s/, (m) => '\\' + m);
}

/**
 * Quick mode is a generated Flume config, validated by the same code as a
 * config file, so `--watch` and `agent -f` never behave differently:
 * TAILDIR (+ netcat) → file channel under the data dir → logger or http sink.
 */
export function buildWatchConfig(a: WatchArgs): AgentConfig {
  const dataDir = resolve(a.dataDir);
  const sources: string[] = [];
  const lines: string[] = [];
  const p = 'quick';
  if (a.watch.length) {
    sources.push('tail');
    lines.push(
      `${p}.sources.tail.type = TAILDIR`,
      `${p}.sources.tail.paths = ${a.watch.map((w) => esc(resolve(w))).join(' ')}`,
      ...(a.exclude.length ? [`${p}.sources.tail.exclude = ${a.exclude.map(esc).join(' ')}`] : []),
      `${p}.sources.tail.skipToEndOnFirstStart = ${!a.fromBeginning}`,
      `${p}.sources.tail.positionFile = ${esc(join(dataDir, 'taildir', 'positions.json'))}`,
      `${p}.sources.tail.fileHeader = true`,
      `${p}.sources.tail.byteOffsetHeader = ${a.byteOffset}`,
      // Bigger batches than Flume's 100: fewer fsyncs per line, which is what bounds a durable tailer.
      `${p}.sources.tail.batchSize = 1000`,
      // Positions of committed lines are persisted within 250 ms (Flume: 3 s), so a kill -9 repeats
      // little more than the batches in flight; an atomic position write is two fsyncs, 8 a second at most.
      `${p}.sources.tail.writePosInterval = 250`,
      `${p}.sources.tail.channels = ch`,
    );
  }
  if (a.netcat) {
    const i = a.netcat.lastIndexOf(':');
    const host = i > 0 ? a.netcat.slice(0, i) : 'localhost';
    const port = i >= 0 ? a.netcat.slice(i + 1) : a.netcat;
    sources.push('net');
    lines.push(`${p}.sources.net.type = netcat`, `${p}.sources.net.bind = ${host}`, `${p}.sources.net.port = ${port}`, `${p}.sources.net.channels = ch`);
  }
  lines.push(
    `${p}.channels.ch.type = file`,
    `${p}.channels.ch.checkpointDir = ${esc(join(dataDir, 'channel', 'checkpoint'))}`,
    `${p}.channels.ch.dataDirs = ${esc(join(dataDir, 'channel', 'data'))}`,
  );
  if (a.http) {
    lines.push(
      `${p}.sinks.out.type = http`,
      `${p}.sinks.out.endpoint = ${esc(a.http)}`,
      `${p}.sinks.out.format = ndjson`,
      // Four batches on their way at once: one request's round trip and the receiver's work overlap the
      // encoding of the next (one at a time, the sink waited on each and fell behind the source; BENCHMARKS.md).
      // Lines keep their order within a batch, not across batches: a config with concurrency = 1 keeps it.
      `${p}.sinks.out.batchSize = 2000`,
      `${p}.sinks.out.concurrency = 4`,
    );
  } else {
    lines.push(`${p}.sinks.out.type = logger`, `${p}.sinks.out.format = text`);
  }
  lines.push(`${p}.sinks.out.channel = ch`);
  const text = [`${p}.sources = ${sources.join(' ')}`, `${p}.channels = ch`, `${p}.sinks = out`, ...lines].join('\n') + '\n';
  return loadConfigText(text, '(quick mode)', p, registry);
}
