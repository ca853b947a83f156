import * as assert from 'uvu/assert';
import type { Channel } from '../../src/channels/channel.ts';
import { eventOf } from '../../src/core/event.ts';

/**
 * EventTakeAttemptCount as Flume counts it, on a started, empty channel that
 * takes at least 5 per transaction: a Flume sink calls take() once per event
 * until its batch is full or a call finds nothing, so attempts are the events
 * taken plus one for a take that came up short.
 */
export async function assertFlumeTakeAttempts(ch: Channel): Promise<void> {
  await ch.put(Array.from({ length: 7 }, (_, i) => eventOf(`a${i}`)));
  const full = await ch.take(5);
  assert.is(full.count, 5);
  await full.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 5, 'a full take: one attempt per event');
  const short = await ch.take(5);
  assert.is(short.count, 2);
  await short.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 8, 'two events, then the attempt that found none');
  const none = await ch.take(5);
  await none.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 9);
  assert.is(ch.counters.get('EventTakeSuccessCount'), 7);
}
