import type { ChannelSpec } from './channels/channel.ts';
import type { SinkSpec } from './sinks/sink.ts';
import type { SourceSpec } from './sources/source.ts';
import { memoryChannelSpec } from './channels/memory.ts';
import { netcatSourceSpec } from './sources/netcat.ts';
import { loggerSinkSpec } from './sinks/logger.ts';
import { nullSinkSpec } from './sinks/null.ts';
import { fileRollSinkSpec } from './sinks/file-roll.ts';
import { fileChannelSpec } from './channels/file/spec.ts';
import { taildirSourceSpec } from './sources/taildir/spec.ts';
import { httpSinkSpec } from './sinks/http/spec.ts';

/**
 * The component types this build knows. Types match case-insensitively, by
 * alias or by the Java class name a Flume config may use.
 */
export interface Registry {
  sources: readonly SourceSpec<any>[];
  channels: readonly ChannelSpec<any>[];
  sinks: readonly SinkSpec<any>[];
}

export const registry: Registry = {
  sources: [netcatSourceSpec, taildirSourceSpec],
  channels: [memoryChannelSpec, fileChannelSpec],
  sinks: [loggerSinkSpec, nullSinkSpec, fileRollSinkSpec, httpSinkSpec],
};

/** Flume's class names for the types we implement, so a config naming a class keeps working. */
const CLASS_NAMES: Record<string, string> = {
  'org.apache.flume.source.netcatsource': 'netcat',
  'org.apache.flume.source.taildir.taildirsource': 'taildir',
  'org.apache.flume.channel.memorychannel': 'memory',
  'org.apache.flume.channel.file.filechannel': 'file',
  'org.apache.flume.sink.loggersink': 'logger',
  'org.apache.flume.sink.nullsink': 'null',
  'org.apache.flume.sink.rollingfilesink': 'file_roll',
  'org.apache.flume.sink.http.httpsink': 'http',
};

export function findSpec<T extends { type: string; aliases?: readonly string[] }>(specs: readonly T[], type: string): T | undefined {
  const t = type.trim().toLowerCase();
  const alias = CLASS_NAMES[t] ?? t;
  return specs.find((s) => s.type.toLowerCase() === alias || s.aliases?.some((a) => a.toLowerCase() === alias));
}

export function typeNames(specs: readonly { type: string }[]): string {
  return specs.map((s) => s.type).join(', ');
}
