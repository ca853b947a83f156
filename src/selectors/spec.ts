import type { Channel } from '../channels/channel.ts';
import type { ComponentContext } from '../config/context.ts';
import { FlumeError } from '../core/errors.ts';
import { MultiplexingSelector, type Route } from './multiplexing.ts';
import { ReplicatingSelector } from './replicating.ts';
import type { ChannelSelector } from './selector.ts';

/** A selector that also counts the events it could route to no required channel. */
export interface CountingSelector extends ChannelSelector {
  readonly unroutedEvents: number;
}

export interface ReplicatingOptions {
  type: 'replicating';
  /** The source's channels, in its order. */
  channels: string[];
  /** Channels whose failures are only logged. */
  optional: string[];
}

export interface MultiplexingOptions {
  type: 'multiplexing';
  channels: string[];
  header: string;
  /** header value → required channels */
  mapping: Map<string, string[]>;
  /** required channels for a missing, blank or unmapped header value */
  defaults: string[];
  /** header value → optional channels (as written; required ones are removed when the selector is built) */
  optional: Map<string, string[]>;
}

export type SelectorOptions = ReplicatingOptions | MultiplexingOptions;

export const selectorTypes = ['replicating', 'multiplexing'] as const;

const CLASS_NAMES: Record<string, SelectorOptions['type']> = {
  'org.apache.flume.channel.replicatingchannelselector': 'replicating',
  'org.apache.flume.channel.multiplexingchannelselector': 'multiplexing',
};

const KEYS = {
  replicating: 'type, optional',
  multiplexing: 'type, header, default, mapping.<value>, optional.<value>',
};

/**
 * Parses a source's selector keys (`ctx` holds the keys under
 * `<agent>.sources.<name>.selector.`) and records every problem: an unknown
 * type (listing the known ones), a channel that is not one of the source's
 * channels (named, in `optional`, `default`, `mapping.*`, `optional.*`), a
 * mapping without channels; and, as warnings, setups where events can reach no
 * required channel, and unknown keys (this function reports them itself).
 * Channel lists split on any whitespace (Flume splits on single spaces, so a
 * double space there is an error; here it is not).
 */
export function parseSelector(ctx: ComponentContext, sourceChannels: string[]): SelectorOptions {
  const channels = [...sourceChannels];
  const written = ctx.optionalString('type');
  let type: SelectorOptions['type'] = 'replicating';
  if (written !== undefined) {
    const t = written.trim().toLowerCase();
    const known = (selectorTypes as readonly string[]).includes(t) ? (t as SelectorOptions['type']) : CLASS_NAMES[t];
    if (!known) {
      ctx.error('type', `unknown selector type "${written}"`, `one of ${selectorTypes.join(', ')}`);
      return { type: 'replicating', channels, optional: [] };
    }
    type = known;
  }

  const list = (key: string, value: string): string[] => {
    const out: string[] = [];
    for (const name of value.split(/\s+/)) {
      if (name === '') continue;
      if (!channels.includes(name)) {
        ctx.error(key, `channel "${name}", which is not a channel of this source`, `one of the source's channels: ${channels.join(' ') || '(none)'}`);
      } else if (!out.includes(name)) {
        out.push(name);
      }
    }
    return out;
  };

  if (type === 'replicating') {
    const optional = list('optional', ctx.string('optional', ''));
    if (channels.length > 0 && channels.every((c) => optional.includes(c))) {
      ctx.warning('optional', 'every channel of the source is optional', 'at least one required channel (events no required channel takes are counted as unrouted)');
    }
    ctx.reportUnknown(`a key of the replicating selector: ${KEYS.replicating}`);
    return { type, channels, optional };
  }

  const header = ctx.string('header', 'flume.selector.header');
  const defaults = list('default', ctx.string('default', ''));
  const mapping = new Map<string, string[]>();
  for (const [value, entry] of ctx.sub('mapping')) {
    const names = list(`mapping.${value}`, entry.value);
    if (entry.value.trim() === '') ctx.error(`mapping.${value}`, 'no channels', `the channels for header value "${value}"`);
    if (names.length > 0) mapping.set(value, names);
  }
  const optional = new Map<string, string[]>();
  for (const [value, entry] of ctx.sub('optional')) optional.set(value, list(`optional.${value}`, entry.value));
  if (defaults.length === 0) {
    ctx.warning('default', 'missing', `the channels for events whose "${header}" header is missing or unmapped (without it they reach no required channel; they are counted as unrouted)`);
  }
  ctx.reportUnknown(`a key of the multiplexing selector: ${KEYS.multiplexing}`);
  return { type, channels, header, mapping, defaults, optional };
}

/**
 * Builds the selector. `channels` must hold every channel the source lists
 * (by name); a name missing there is a bug in the caller and throws.
 */
export function createSelector(opts: SelectorOptions, channels: ReadonlyMap<string, Channel>): CountingSelector {
  const get = (name: string): Channel => {
    const ch = channels.get(name);
    if (!ch) throw new FlumeError('SELECTOR_CHANNEL_MISSING', `selector: channel ${name} was not created`);
    return ch;
  };
  if (opts.type === 'replicating') {
    return new ReplicatingSelector(opts.channels.filter((c) => !opts.optional.includes(c)).map(get), opts.optional.map(get));
  }
  const defaults = opts.defaults.map(get);
  const fallback: Route = { required: defaults, optional: [] };
  const routes = new Map<string, Route>();
  for (const value of new Set([...opts.mapping.keys(), ...opts.optional.keys()])) {
    const requiredNames = opts.mapping.get(value) ?? opts.defaults;
    // a channel both required and optional for a value is required (Flume)
    const optionalNames = (opts.optional.get(value) ?? []).filter((c) => !requiredNames.includes(c));
    routes.set(value, { required: requiredNames.map(get), optional: optionalNames.map(get) });
  }
  return new MultiplexingSelector(opts.header, routes, fallback, opts.channels.map(get));
}
