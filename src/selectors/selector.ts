import type { Channel } from '../channels/channel.ts';
import type { FlumeEvent } from '../core/event.ts';

/** Picks, per event, the channels that must take it and those that may. */
export interface ChannelSelector {
  /** Groups the batch by target channel. `required` failures fail the put; `optional` ones are logged. */
  route(events: FlumeEvent[]): { required: Map<Channel, FlumeEvent[]>; optional: Map<Channel, FlumeEvent[]> };
  /**
   * Routes `count` events that all carry `sample`'s headers (a source's line
   * batch): every one goes where `sample` goes, since routing reads only headers.
   */
  routeShared(sample: FlumeEvent, count: number): { required: readonly Channel[]; optional: readonly Channel[] };
  readonly channels: readonly Channel[];
}

export function addTo(map: Map<Channel, FlumeEvent[]>, ch: Channel, e: FlumeEvent): void {
  const list = map.get(ch);
  if (list) list.push(e);
  else map.set(ch, [e]);
}
