import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ComponentContext, type Entry } from './context.ts';
import { Problems } from './problems.ts';
import { configText, javaTrim, parseProperties } from './properties.ts';
import { substituteEnv } from './env.ts';
import type { AgentConfig, ChannelConfig, SinkConfig, SourceConfig } from './agent-config.ts';
import { findSpec, typeNames, type Registry } from '../registry.ts';
import { findInterceptorSpec, interceptorSpecs } from '../interceptors/index.ts';
import { parseSelector } from '../selectors/spec.ts';
import { parseProcessor } from '../sinks/group.ts';

const KINDS = ['sources', 'channels', 'sinks', 'sinkgroups'] as const;
type Kind = (typeof KINDS)[number];

/** Reads a properties file (UTF-8, or ISO-8859-1 as Flume reads it when it is not UTF-8: configText) and validates the named agent. */
export function loadConfigFile(file: string, agent: string, registry: Registry, env: Record<string, string | undefined> = process.env): AgentConfig {
  let text: string;
  try {
    text = configText(readFileSync(file));
  } catch (err) {
    const problems = new Problems(file);
    problems.error(0, '(file)', `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'a readable Flume properties file');
    return { agent, file, sources: [], channels: [], sinks: [], sinkGroups: [], problems: problems.list };
  }
  return loadConfigText(text, file, agent, registry, env);
}

/**
 * Validates the agent's part of a config and collects every problem (not just
 * the first), each with file, line, key, what was found and what was expected.
 * Unlike Flume, which drops a bad component and starts the rest, the caller
 * refuses to start on any error.
 */
export function loadConfigText(text: string, file: string, agent: string, registry: Registry, env: Record<string, string | undefined> = process.env): AgentConfig {
  const problems = new Problems(file);
  const parsed = parseProperties(text);
  for (const p of parsed.problems) problems.error(p.line, '(syntax)', p.message, 'valid java.util.Properties syntax');

  // Flume trims keys and values, and rejects empty values.
  const all = new Map<string, Entry>();
  const agentsSeen = new Set<string>();
  for (const { key: rawKey, value: rawValue, line } of parsed.lines) {
    const key = javaTrim(rawKey);
    const dot = key.indexOf('.');
    if (dot > 0) agentsSeen.add(key.slice(0, dot));
    if (!key.startsWith(`${agent}.`) && !key.startsWith('flume.monitoring.')) continue;
    const value = javaTrim(rawValue);
    if (value === '') {
      problems.error(line, key, 'an empty value', 'a value (Flume rejects keys without one)');
      continue;
    }
    const sub = substituteEnv(value, env);
    for (const name of sub.missing) problems.error(line, key, `\${${name}} but ${name} is not set in the environment`, `the environment variable ${name} to be set`);
    const prev = all.get(key);
    if (prev) problems.warning(line, key, `a second value (first on line ${prev.line}); the last one wins`, 'each key once');
    all.set(key, { value: sub.value, line, ...(sub.missing.length ? { unresolved: true } : {}) });
  }

  const cfg: AgentConfig = { agent, file, sources: [], channels: [], sinks: [], sinkGroups: [], problems: problems.list };
  const agentKeys = [...all.keys()].filter((k) => k.startsWith(`${agent}.`));
  if (agentKeys.length === 0) {
    const others = [...agentsSeen].filter((a) => a !== 'flume');
    problems.error(0, `${agent}.*`, `no keys for agent "${agent}"`, others.length ? `-n to name an agent of this file: ${others.join(', ')}` : 'keys of the form <agent>.sources = …');
    return cfg;
  }

  // Route keys: <agent>.<kind>.<name>.<property>
  const lists = new Map<Kind, { names: string[]; line: number }>();
  const byComponent = new Map<string, Map<string, Entry>>();
  for (const key of agentKeys) {
    const e = all.get(key)!;
    const rest = key.slice(agent.length + 1);
    const [kind, name, ...prop] = rest.split('.');
    if (!(KINDS as readonly string[]).includes(kind)) {
      problems.warning(e.line, key, `"${kind}" after the agent name (ignored)`, 'sources, channels, sinks or sinkgroups');
      continue;
    }
    if (name === undefined) {
      lists.set(kind as Kind, { names: [...new Set(e.value.split(/\s+/).filter(Boolean))], line: e.line });
      continue;
    }
    if (prop.length === 0) {
      problems.error(e.line, key, 'a component name without a property', `${agent}.${kind}.${name}.<property>`);
      continue;
    }
    const id = `${kind}.${name}`;
    let m = byComponent.get(id);
    if (!m) byComponent.set(id, (m = new Map()));
    m.set(prop.join('.'), e);
  }

  const declared = (kind: Kind) => lists.get(kind)?.names ?? [];
  for (const id of byComponent.keys()) {
    const [kind, name] = id.split('.') as [Kind, string];
    if (!declared(kind).includes(name)) {
      const first = [...byComponent.get(id)!.values()][0];
      problems.warning(first.line, `${agent}.${id}`, `keys for "${name}", which ${agent}.${kind} does not list (ignored)`, `"${name}" in ${agent}.${kind}${lists.get(kind) ? ` (line ${lists.get(kind)!.line})` : ''}`);
    }
  }
  if (!lists.has('channels')) problems.error(0, `${agent}.channels`, 'missing', 'a list of channel names (an agent needs at least one channel)');
  if (!lists.has('sources') && !lists.has('sinks')) problems.error(0, `${agent}.sources`, 'no sources and no sinks', 'at least one source or sink');

  const ctxFor = (kind: Kind, name: string): ComponentContext | undefined => {
    const entries = byComponent.get(`${kind}.${name}`);
    const listLine = lists.get(kind)?.line ?? 0;
    if (!entries) {
      const first = kind === 'sinkgroups' ? 'sinks' : 'type';
      problems.error(listLine, `${agent}.${kind}.${name}.${first}`, `"${name}" is listed in ${agent}.${kind} but has no keys`, `${agent}.${kind}.${name}.${first} = <${first === 'sinks' ? 'sink names' : 'type'}>`);
      return undefined;
    }
    return new ComponentContext(`${agent}.${kind}.${name}`, entries, problems, entries.get('type')?.line ?? listLine);
  };

  // Channels first: sources and sinks are checked against them.
  const channels = new Map<string, ChannelConfig>();
  // the directories each file channel names, resolved as the channel resolves them: two channels on one directory
  // would read and delete each other's segments (the agent refuses, its lock naming its own pid; say it here first)
  const dirOwners = new Map<string, { channel: string; key: string }>();
  for (const name of declared('channels')) {
    const ctx = ctxFor('channels', name);
    if (!ctx) continue;
    const type = ctx.requiredString('type', `a channel type: ${typeNames(registry.channels)}`);
    if (!type) continue;
    const spec = findSpec(registry.channels, type);
    if (!spec) {
      ctx.error('type', `unknown channel type "${type}"`, `one of ${typeNames(registry.channels)}`);
      continue;
    }
    const options = spec.parse(ctx);
    ctx.reportUnknown(`a key of the ${spec.type} channel: ${spec.keys}`);
    channels.set(name, { name, spec, options });
    const { checkpointDir, dataDirs } = options as { checkpointDir?: string; dataDirs?: string[] };
    for (const [key, dirs] of [['checkpointDir', checkpointDir ? [checkpointDir] : []], ['dataDirs', dataDirs ?? []]] as const) {
      for (const dir of dirs) {
        const abs = resolve(dir);
        const owner = dirOwners.get(abs);
        // one channel may keep its checkpoint among its data dirs
        if (owner && owner.channel !== name) ctx.error(key, `"${dir}", a directory channel ${owner.channel} names too (its ${owner.key})`, 'a directory of its own for each file channel');
        else if (!owner) dirOwners.set(abs, { channel: name, key });
      }
    }
  }
  const channelNames = declared('channels');
  const used = new Set<string>();

  for (const name of declared('sources')) {
    const ctx = ctxFor('sources', name);
    if (!ctx) continue;
    ctx.markUsed('type', 'channels', 'channel');
    const typeEntry = ctx.entry('type');
    const chans = ctx.list('channels');
    if (chans.length === 0) {
      const singular = ctx.entries.get('channel');
      problems.error(singular?.line ?? ctx.line, `${agent}.sources.${name}.channels`, singular ? 'missing (found the singular "channel", which sources do not read)' : 'missing', 'a list of channels (sources use the plural "channels")');
    }
    for (const c of chans) {
      used.add(c);
      if (!channelNames.includes(c)) ctx.error('channels', `channel "${c}", which is not in ${agent}.channels`, `one of: ${channelNames.join(', ') || '(no channels declared)'}`);
    }
    const selector = parseSelector(ctx.child('selector'), chans);
    const interceptors: SourceConfig['interceptors'] = [];
    for (const iname of ctx.list('interceptors')) {
      const ictx = ctx.child(`interceptors.${iname}`);
      const itype = ictx.requiredString('type', `an interceptor type: ${interceptorSpecs.map((s) => s.type).join(', ')}`);
      if (!itype) continue;
      const ispec = findInterceptorSpec(itype);
      if (!ispec) {
        ictx.error('type', `unknown interceptor type "${itype}"`, `one of ${interceptorSpecs.map((s) => s.type).join(', ')}`);
        continue;
      }
      ictx.markUsed('type');
      const options = ispec.parse(ictx);
      ictx.reportUnknown(`a key of the ${ispec.type} interceptor: ${ispec.keys}`);
      interceptors.push({ name: iname, spec: ispec, options });
    }
    if (!typeEntry) {
      ctx.requiredString('type', `a source type: ${typeNames(registry.sources)}`);
      continue;
    }
    const spec = findSpec(registry.sources, typeEntry.value);
    if (!spec) {
      ctx.error('type', `unknown source type "${typeEntry.value}"`, `one of ${typeNames(registry.sources)}`);
      continue;
    }
    const options = spec.parse(ctx) as { batchSize?: number };
    ctx.reportUnknown(`a key of the ${spec.type} source: ${spec.keys}, channels, selector.*, interceptors`);
    for (const c of chans) {
      const ch = channels.get(c);
      if (ch && options.batchSize !== undefined && options.batchSize > ch.options.transactionCapacity) {
        ctx.error('batchSize', `${options.batchSize}, above channel ${c}'s transactionCapacity ${ch.options.transactionCapacity} (line ${byComponent.get(`channels.${c}`)?.get('transactionCapacity')?.line ?? '-'})`, `at most ${ch.options.transactionCapacity}, or a larger transactionCapacity`);
      }
    }
    cfg.sources.push({ name, spec, options, channels: chans, selector, interceptors });
  }

  for (const name of declared('sinks')) {
    const ctx = ctxFor('sinks', name);
    if (!ctx) continue;
    ctx.markUsed('type', 'channel', 'channels');
    const typeEntry = ctx.entry('type');
    const chEntry = ctx.entries.get('channel');
    if (!chEntry) {
      const plural = ctx.entries.get('channels');
      problems.error(plural?.line ?? ctx.line, `${agent}.sinks.${name}.channel`, plural ? 'missing (found the plural "channels", which sinks do not read)' : 'missing', 'the one channel this sink takes from (sinks use the singular "channel")');
    } else {
      used.add(chEntry.value);
      if (!channelNames.includes(chEntry.value)) ctx.error('channel', `channel "${chEntry.value}", which is not in ${agent}.channels`, `one of: ${channelNames.join(', ') || '(no channels declared)'}`);
    }
    if (!typeEntry) {
      ctx.requiredString('type', `a sink type: ${typeNames(registry.sinks)}`);
      continue;
    }
    const spec = findSpec(registry.sinks, typeEntry.value);
    if (!spec) {
      ctx.error('type', `unknown sink type "${typeEntry.value}"`, `one of ${typeNames(registry.sinks)}`);
      continue;
    }
    const options = spec.parse(ctx) as SinkConfig['options'];
    ctx.reportUnknown(`a key of the ${spec.type} sink: ${spec.keys}, channel`);
    const ch = chEntry ? channels.get(chEntry.value) : undefined;
    if (ch && options.batchSize > ch.options.transactionCapacity) {
      ctx.error('batchSize', `${options.batchSize}, above channel ${ch.name}'s transactionCapacity ${ch.options.transactionCapacity} (line ${byComponent.get(`channels.${ch.name}`)?.get('transactionCapacity')?.line ?? '-'})`, `at most ${ch.options.transactionCapacity}, or a larger transactionCapacity`);
    }
    if (chEntry) cfg.sinks.push({ name, spec, options, channel: chEntry.value });
  }

  // Sink groups: members must be declared sinks, in one group only, and (our rule) share one channel.
  const grouped = new Map<string, string>();
  for (const name of declared('sinkgroups')) {
    const ctx = ctxFor('sinkgroups', name);
    if (!ctx) continue;
    const members = ctx.list('sinks');
    if (members.length === 0) ctx.requiredString('sinks', 'the sinks of this group (space-separated)');
    const ok: string[] = [];
    for (const m of members) {
      const sink = cfg.sinks.find((k) => k.name === m);
      if (!declared('sinks').includes(m)) ctx.error('sinks', `sink "${m}", which is not in ${agent}.sinks`, `one of: ${declared('sinks').join(', ') || '(no sinks declared)'}`);
      else if (grouped.has(m)) ctx.error('sinks', `sink "${m}", already in group ${grouped.get(m)}`, 'each sink in one group at most');
      else if (sink) {
        grouped.set(m, name);
        ok.push(m);
      }
    }
    const chans = new Set(ok.map((m) => cfg.sinks.find((k) => k.name === m)!.channel));
    if (chans.size > 1) ctx.error('sinks', `sinks taking from different channels (${[...chans].join(', ')})`, 'the sinks of a group to share one channel (the group takes each batch once and offers it to one sink)');
    const processor = parseProcessor(ctx.child('processor'), ok);
    ctx.reportUnknown('sinks, processor.*');
    if (processor && ok.length === members.length && chans.size === 1) cfg.sinkGroups.push({ name, members: ok, processor });
  }

  for (const [name, ch] of channels) {
    if (!used.has(name)) {
      problems.warning(byComponent.get(`channels.${name}`)?.get('type')?.line ?? 0, `${agent}.channels.${name}`, 'a channel no source or sink uses', 'a source listing it in .channels or a sink naming it in .channel');
    }
    cfg.channels.push(ch);
  }

  const monType = all.get('flume.monitoring.type');
  if (monType) {
    const mctx = new ComponentContext('flume.monitoring', new Map([...all].filter(([k]) => k.startsWith('flume.monitoring.')).map(([k, v]) => [k.slice('flume.monitoring.'.length), v])), problems, monType.line);
    const type = mctx.oneOf('type', 'http', ['http', 'prometheus'] as const);
    const port = mctx.int('port', 41414, { min: 0, max: 65535 });
    const host = mctx.optionalString('host');
    mctx.reportUnknown('type, port, host');
    cfg.monitoring = { type, port, ...(host ? { host } : {}) };
  }
  return cfg;
}
