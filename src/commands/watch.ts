import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { AgentConfig } from '../config/agent-config.ts';
import { loadConfigText } from '../config/load.ts';
import { FlumeError } from '../core/errors.ts';
import { registry } from '../registry.ts';
import type { FileChannelOptions } from '../channels/file/file-channel.ts';
import type { TaildirOptions } from '../sources/taildir/source.ts';

export interface WatchArgs {
  watch: string[];
  exclude: string[];
  fromBeginning: boolean;
  dataDir: string;
  http?: string;
  /** with `http`: where batches the receiver rejects for good are written (the sink's dlqDir) */
  deadLetterDir?: string;
  netcat?: string;
  byteOffset: boolean;
}

/** What a port flag accepts, for messages. */
export const PORT_RANGE = 'a port from 0 to 65535 (0: any free port, logged at start)';

/** A TCP port as typed: digits only, 0–65535; undefined otherwise (`abc`, `99999`, `80.5`, empty). */
export function parsePort(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 65535 ? n : undefined;
}

/**
 * `--netcat`'s value: `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (both on
 * localhost). An IPv6 address needs its brackets: `::1:44444` could be read two
 * ways. The error names the flag, never the generated config.
 */
export function parseNetcat(value: string): { host: string; port: number } | { error: string } {
  const bad = (why: string) => ({ error: `--netcat: "${value}": ${why}; expected HOST:PORT, [IPv6]:PORT or PORT` });
  const v = value.trim();
  let host: string;
  let portText: string;
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close < 0) return bad('no "]" after the IPv6 address');
    host = v.slice(1, close);
    if (host === '') return bad('no address between the brackets');
    if (v[close + 1] !== ':') return bad('no port after the address');
    portText = v.slice(close + 2);
  } else {
    const i = v.lastIndexOf(':');
    host = i > 0 ? v.slice(0, i) : 'localhost';
    portText = i >= 0 ? v.slice(i + 1) : v;
    if (host.includes(':')) return bad('an IPv6 address without brackets (write [ADDRESS]:PORT, e.g. [::1]:44444)');
  }
  const port = parsePort(portText);
  if (port === undefined) return bad(`the port "${portText}" is not a number from 0 to 65535`);
  return { host, port };
}

/**
 * Every problem with the flags' values, each naming the flag as typed
 * (`--netcat: …`): reported before any config is generated, so a user never
 * reads about `quick.sources.net.port`, a key they did not write.
 */
export function validateWatchArgs(a: WatchArgs): string[] {
  const problems: string[] = [];
  if (a.watch.some((w) => w === '')) problems.push('--watch: an empty path; expected a directory, a file or a glob');
  if (a.exclude.some((g) => g === '')) problems.push('--exclude: an empty glob; expected a file name or path glob');
  if (a.dataDir === '') problems.push('--data-dir: an empty path; expected a directory');
  if (a.netcat !== undefined) {
    const nc = parseNetcat(a.netcat);
    if ('error' in nc) problems.push(nc.error);
  }
  if (a.http !== undefined) {
    let ok = false;
    try {
      const u = new URL(a.http);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      // not a URL
    }
    if (!ok) problems.push(`--http: "${a.http}" is not an http:// or https:// URL`);
  }
  if (a.deadLetterDir !== undefined) {
    if (a.http === undefined) problems.push('--dead-letter-dir: given without --http; it keeps the batches an HTTP receiver rejects');
    else if (a.deadLetterDir === '') problems.push('--dead-letter-dir: an empty path; expected a directory');
  }
  return problems;
}

/** Escapes every character picomatch would read as glob syntax, so `s` matches itself only. */
function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]{}()!+@|]/g, '\\$&');
}

/**
 * An `--exclude` value as TAILDIR's `exclude` takes it (discovery matches a
 * pattern with a `/` against absolute paths, one without against file names):
 * - a backslash is a backslash, as in any path (picomatch would read it as an
 *   escape); `[*]` still matches a literal `*`;
 * - without a `/` it matches file names anywhere; absolute, or starting with
 *   `**` + `/`, it is kept as is;
 * - any other pattern with a `/` is relative to the current directory, like a
 *   relative `--watch` path (`live/*.tmp` → `$PWD/live/*.tmp`), with glob
 *   characters in the directory's own name taken literally.
 */
export function excludeGlob(g: string, cwd: string = process.cwd()): string {
  const glob = g.replace(/\\/g, '\\\\');
  if (!glob.includes('/') || isAbsolute(glob) || glob.startsWith('**/')) return glob;
  let base = cwd;
  let rest = glob;
  for (;;) {
    if (rest.startsWith('./')) rest = rest.slice(2);
    else if (rest.startsWith('../')) {
      base = dirname(base);
      rest = rest.slice(3);
    } else break;
  }
  const prefix = escapeGlob(base);
  return (prefix.endsWith('/') ? prefix : prefix + '/') + rest;
}

/** Escapes a single value for a properties file: backslashes, line breaks and tabs, and leading whitespace. */
function esc(v: string): string {
  return v
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\f/g, '\\f')
    .replace(/^ /, '\\ ');
}

/**
 * Quick mode's batch sizes. Bigger than Flume's 100: fewer fsyncs and fewer records per line, which is what
 * bounds a durable tailer. A put of 2000 lines reads a backlog into the file channel ~10 % faster than 1000
 * (fewer frames, group-commit cycles and position updates); the source keeps half as many of them in flight
 * (`putsInFlight`), so the lines it holds, and Bun's peak memory, stay as with 1000 (with as many in flight
 * Bun's rose from 123–128 MB to 133–151; BENCHMARKS.md). 4000 was no faster than 2000. A live file's
 * batches stay as small as its appends. The sink, logger or HTTP, takes QUICK_SINK_BATCH lines at a time; the
 * HTTP sink sends four of its batches at once (`concurrency`).
 */
export const QUICK_SOURCE_BATCH = 2000;
export const QUICK_SINK_BATCH = 2000;

/**
 * Quick mode is a generated Flume config, validated by the same code as a
 * config file, so `--watch` and `agent -f` never behave differently:
 * TAILDIR (+ netcat) → file channel under the data dir → logger or http sink.
 *
 * Paths (`--watch`, `--exclude`, `--data-dir`) do not go through the text:
 * Flume's list syntax splits on whitespace and has no quoting, and `${…}` in a
 * value is taken from the environment with no escape, so `/srv/my logs` or a
 * directory named `${x}` could not round-trip. The text carries a placeholder
 * for `paths` (the key is required) and leaves the directories to the options,
 * which are set to the values exactly as given once the config is validated.
 *
 * Throws a FlumeError (code USAGE) on a bad flag value; the CLI checks
 * `validateWatchArgs` first to report those as usage errors.
 */
export function buildWatchConfig(a: WatchArgs): AgentConfig {
  const problems = validateWatchArgs(a);
  if (problems.length) throw new FlumeError('USAGE', problems.join('\n'));
  const dataDir = resolve(a.dataDir);
  const sources: string[] = [];
  const lines: string[] = [];
  const p = 'quick';
  if (a.watch.length) {
    sources.push('tail');
    lines.push(
      `${p}.sources.tail.type = TAILDIR`,
      '# paths, exclude and positionFile: set in the options from --watch, --exclude and --data-dir (see buildWatchConfig)',
      `${p}.sources.tail.paths = /--watch`,
      `${p}.sources.tail.skipToEndOnFirstStart = ${!a.fromBeginning}`,
      `${p}.sources.tail.fileHeader = true`,
      `${p}.sources.tail.byteOffsetHeader = ${a.byteOffset}`,
      `${p}.sources.tail.batchSize = ${QUICK_SOURCE_BATCH}`,
      // Positions of committed lines are persisted within 250 ms (Flume: 3 s), so a kill -9 repeats
      // little more than the batches in flight; an atomic position write is two fsyncs, 8 a second at most.
      `${p}.sources.tail.writePosInterval = 250`,
      `${p}.sources.tail.channels = ch`,
    );
  }
  if (a.netcat !== undefined) {
    const nc = parseNetcat(a.netcat) as { host: string; port: number };
    sources.push('net');
    lines.push(`${p}.sources.net.type = netcat`, `${p}.sources.net.bind = ${esc(nc.host)}`, `${p}.sources.net.port = ${nc.port}`, `${p}.sources.net.channels = ch`);
  }
  // checkpointDir and dataDirs: set in the options from --data-dir
  lines.push(`${p}.channels.ch.type = file`);
  if (a.http) {
    lines.push(
      `${p}.sinks.out.type = http`,
      `${p}.sinks.out.endpoint = ${esc(a.http)}`,
      `${p}.sinks.out.format = ndjson`,
      // Four batches on their way at once: one request's round trip and the receiver's work overlap the
      // encoding of the next (one at a time, the sink waited on each and fell behind the source; BENCHMARKS.md).
      // Lines keep their order within a batch, not across batches: a config with concurrency = 1 keeps it.
      `${p}.sinks.out.batchSize = ${QUICK_SINK_BATCH}`,
      `${p}.sinks.out.concurrency = 4`,
    );
    // without it a batch the receiver rejects for good (a 4xx other than 408 and 429) is retried forever, as in Flume
    if (a.deadLetterDir) lines.push(`${p}.sinks.out.dlqDir = ${esc(resolve(a.deadLetterDir))}`);
  } else {
    // Flume's logger sink takes 100 events a transaction; 2000 printed a 1M-line backlog to a pipe in 1.1-1.25 s
    // against 1.7-1.8 (each take is a commit record in the channel's log; BENCHMARKS.md)
    lines.push(`${p}.sinks.out.type = logger`, `${p}.sinks.out.format = text`, `${p}.sinks.out.batchSize = ${QUICK_SINK_BATCH}`);
  }
  lines.push(`${p}.sinks.out.channel = ch`);
  const text = [`${p}.sources = ${sources.join(' ')}`, `${p}.channels = ch`, `${p}.sinks = out`, ...lines].join('\n') + '\n';
  const cfg = loadConfigText(text, '(quick mode)', p, registry);
  const tail = cfg.sources.find((s) => s.name === 'tail');
  if (tail) {
    Object.assign(tail.options as TaildirOptions, {
      paths: a.watch.map((w) => resolve(w)),
      exclude: a.exclude.map((g) => excludeGlob(g)),
      positionFile: join(dataDir, 'taildir', 'positions.json'),
    } satisfies Partial<TaildirOptions>);
  }
  const ch = cfg.channels.find((c) => c.name === 'ch');
  if (ch) {
    Object.assign(ch.options as FileChannelOptions, {
      checkpointDir: join(dataDir, 'channel', 'checkpoint'),
      dataDirs: [join(dataDir, 'channel', 'data')],
    } satisfies Partial<FileChannelOptions>);
  }
  return cfg;
}
