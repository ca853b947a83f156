import * as assert from 'uvu/assert';
import type { Channel } from '../../src/channels/channel.ts';
import { eventOf } from '../../src/core/event.ts';

/**
 * EventTakeAttemptCount as Flume counts it, on a started, empty channel that
 * takes at least 5 per transaction: a Flume sink calls take() once per event
 * until its batch is full or a call finds nothing, so attempts are the events
 * taken plus one for a take that came up short.
 */
export async function assertFlumeTakeAttempts(ch: Channel, withBudget = false): Promise<void> {
  // the runner always passes a budget: one far above these events counts as none does
  const budget = withBudget ? 1 << 20 : undefined;
  await ch.put(Array.from({ length: 7 }, (_, i) => eventOf(`a${i}`)));
  const full = await ch.take(5, budget);
  assert.is(full.count, 5);
  await full.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 5, 'a full take: one attempt per event');
  const short = await ch.take(5, budget);
  assert.is(short.count, 2);
  await short.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 8, 'two events, then the attempt that found none');
  const none = await ch.take(5, budget);
  await none.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 9);
  assert.is(ch.counters.get('EventTakeSuccessCount'), 7);
  if (!withBudget) return;
  // a take the budget cut, with events left, is as full as it may be: no attempt that found none
  await ch.put(Array.from({ length: 3 }, (_, i) => eventOf(`${i}${'b'.repeat(99)}`)));
  const cut = await ch.take(5, 150);
  assert.is(cut.count, 2);
  assert.is(cut.cut, true);
  await cut.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 11, 'two events, cut by the budget');
  // the last one fills the budget, but nothing is left: a short take, not a cut one
  const last = await ch.take(5, 50);
  assert.is(last.count, 1);
  assert.is(last.cut, false);
  await last.commit();
  assert.is(ch.counters.get('EventTakeAttemptCount'), 13);
}
