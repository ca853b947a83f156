import type { Channel, Taken } from '../../src/channels/channel.ts';
import type { FlumeEvent } from '../../src/core/event.ts';
import { CounterGroup } from '../../src/metrics/counters.ts';

/** A minimal channel that holds nothing: for code where only a channel's name and identity matter (selectors). */
export function fakeChannel(name: string): Channel {
  return {
    name,
    put: async (_events: FlumeEvent[]) => {},
    take: async (): Promise<Taken> => ({ count: 0, events: [], commit: async () => {}, rollback: async () => {} }),
    size: 0,
    capacity: 100,
    transactionCapacity: 100,
    counters: new CounterGroup('CHANNEL', name, 'fake'),
    start: async () => {},
    stop: async () => {},
  };
}
