import type { Channel } from '../channels/channel.ts';
import type { FlumeEvent } from '../core/event.ts';
import { addTo } from './selector.ts';
import type { CountingSelector } from './spec.ts';

/** Where the events with one header value go. */
export interface Route {
  readonly required: readonly Channel[];
  /** Optional channels, without those already required for this value. */
  readonly optional: readonly Channel[];
}

/**
 * Flume's `multiplexing` selector: the value of header `header` picks the
 * channels (`mapping.<value>` required, `optional.<value>` optional); a missing
 * or blank header, or an unmapped value, goes to `default`. With no `default`
 * such an event reaches no required channel — Flume's behaviour, kept, but
 * counted in `unroutedEvents` so it is visible.
 */
export class MultiplexingSelector implements CountingSelector {
  readonly channels: readonly Channel[];
  unroutedEvents = 0;

  constructor(
    private readonly header: string,
    /** By exact header value (Flume does not trim it for the lookup). */
    private readonly routes: ReadonlyMap<string, Route>,
    /**
     * A missing or blank header, or a value with no entry in `routes`: the
     * default channels, no optional ones. One object for both, so a batch of
     * such events is routed as one.
     */
    private readonly fallback: Route,
    channels: readonly Channel[],
  ) {
    this.channels = channels;
  }

  routeOf(e: FlumeEvent): Route {
    const v = e.headers[this.header];
    // typeof: a plain header object inherits `constructor` & co.
    if (typeof v !== 'string' || v.trim() === '') return this.fallback;
    return this.routes.get(v) ?? this.fallback;
  }

  routeShared(sample: FlumeEvent, count: number): Route {
    const r = this.routeOf(sample);
    if (r.required.length === 0) this.unroutedEvents += count;
    return r;
  }

  route(events: FlumeEvent[]): { required: Map<Channel, FlumeEvent[]>; optional: Map<Channel, FlumeEvent[]> } {
    const required = new Map<Channel, FlumeEvent[]>();
    const optional = new Map<Channel, FlumeEvent[]>();
    if (events.length === 0) return { required, optional };
    // common case: the whole batch has one route, so hand each channel the batch array itself
    const first = this.routeOf(events[0]);
    let same = true;
    for (let i = 1; i < events.length && same; i++) same = this.routeOf(events[i]) === first;
    if (same) {
      for (const ch of first.required) required.set(ch, events);
      for (const ch of first.optional) optional.set(ch, events);
      if (first.required.length === 0) this.unroutedEvents += events.length;
      return { required, optional };
    }
    for (const e of events) {
      const r = this.routeOf(e);
      for (const ch of r.required) addTo(required, ch, e);
      for (const ch of r.optional) addTo(optional, ch, e);
      if (r.required.length === 0) this.unroutedEvents++;
    }
    return { required, optional };
  }
}
