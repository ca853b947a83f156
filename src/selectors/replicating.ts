import type { Channel } from '../channels/channel.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { CountingSelector } from './spec.ts';

/**
 * Flume's default selector: every event to every channel of the source; the
 * channels listed in `optional` also get it, but their failures are only logged.
 * Routing does no per-event work: each channel is handed the batch array itself.
 */
export class ReplicatingSelector implements CountingSelector {
  readonly channels: readonly Channel[];
  /** Events that no required channel took (only when every channel is optional). */
  unroutedEvents = 0;
  private readonly targets: { required: readonly Channel[]; optional: readonly Channel[] };

  constructor(
    private readonly required: readonly Channel[],
    private readonly optional: readonly Channel[],
  ) {
    this.channels = [...required, ...optional];
    this.targets = { required, optional };
  }

  route(events: FlumeEvent[]): { required: Map<Channel, FlumeEvent[]>; optional: Map<Channel, FlumeEvent[]> } {
    // fresh maps per call: sources may call the processor concurrently
    const required = new Map<Channel, FlumeEvent[]>();
    const optional = new Map<Channel, FlumeEvent[]>();
    for (const ch of this.required) required.set(ch, events);
    for (const ch of this.optional) optional.set(ch, events);
    if (this.required.length === 0) this.unroutedEvents += events.length;
    return { required, optional };
  }

  routeShared(_sample: FlumeEvent, count: number): { required: readonly Channel[]; optional: readonly Channel[] } {
    if (this.required.length === 0) this.unroutedEvents += count;
    return this.targets;
  }
}
