import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Channel } from '../src/channels/channel.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { createSelector, parseSelector } from '../src/selectors/spec.ts';
import { contextOf } from './helpers/context.ts';
import { fakeChannel } from './helpers/fake-channel.ts';

function channels(...names: string[]): Map<string, Channel> {
  return new Map(names.map((n) => [n, fakeChannel(n)]));
}

/** A selector context from `key = value` lines (line numbers from 10 on). */
function ctxOf(props: Record<string, string>) {
  return contextOf('a1.sources.r1.selector', props, 10, 5);
}

const names = (m: Map<Channel, FlumeEvent[]>) => [...m.keys()].map((c) => c.name);

test('no selector keys: replicating to every channel of the source, all required', () => {
  const { ctx, problems } = ctxOf({});
  const opts = parseSelector(ctx, ['c1', 'c2']);
  assert.equal(opts, { type: 'replicating', channels: ['c1', 'c2'], optional: [] });
  assert.equal(problems.list, []);
  const sel = createSelector(opts, channels('c1', 'c2', 'other'));
  const batch = [eventOf('a'), eventOf('b')];
  const r = sel.route(batch);
  assert.equal(names(r.required), ['c1', 'c2']);
  assert.is(r.optional.size, 0);
  assert.equal(sel.channels.map((c) => c.name), ['c1', 'c2']);
});

test('single channel: the batch array itself is handed on (no per-event work)', () => {
  const { ctx } = ctxOf({ type: 'replicating' });
  const sel = createSelector(parseSelector(ctx, ['c1']), channels('c1'));
  const batch = [eventOf('a'), eventOf('b'), eventOf('c')];
  const r = sel.route(batch);
  assert.is([...r.required.values()][0], batch);
  assert.is(sel.unroutedEvents, 0);
});

test('type is case-insensitive and the Flume class name works', () => {
  for (const type of ['REPLICATING', 'org.apache.flume.channel.ReplicatingChannelSelector']) {
    const { ctx, problems } = ctxOf({ type });
    assert.is(parseSelector(ctx, ['c1']).type, 'replicating');
    assert.equal(problems.list, []);
  }
});

test('optional channels get the events as optional; the rest stay required', () => {
  const { ctx, problems } = ctxOf({ optional: 'c3  c2' });
  const opts = parseSelector(ctx, ['c1', 'c2', 'c3']);
  assert.equal(problems.list, []);
  const sel = createSelector(opts, channels('c1', 'c2', 'c3'));
  const batch = [eventOf('x')];
  const r = sel.route(batch);
  assert.equal(names(r.required), ['c1']);
  assert.equal(names(r.optional), ['c3', 'c2']);
  assert.is(r.optional.get([...r.optional.keys()][0]), batch);
});

test('an optional channel that is not a channel of the source is an error naming it, with its line', () => {
  const { ctx, problems } = ctxOf({ type: 'replicating', optional: 'c2 nope' });
  parseSelector(ctx, ['c1', 'c2']);
  assert.equal(problems.list, [
    {
      severity: 'error',
      file: 'test.properties',
      line: 11,
      key: 'a1.sources.r1.selector.optional',
      found: 'channel "nope", which is not a channel of this source',
      expected: "one of the source's channels: c1 c2",
    },
  ]);
});

test('an unknown type is an error listing the known ones', () => {
  const { ctx, problems } = ctxOf({ type: 'round_robin' });
  parseSelector(ctx, ['c1']);
  assert.is(problems.errors.length, 1);
  assert.is(problems.errors[0].line, 10);
  assert.is(problems.errors[0].key, 'a1.sources.r1.selector.type');
  assert.match(problems.errors[0].found, /unknown selector type "round_robin"/);
  assert.is(problems.errors[0].expected, 'one of replicating, multiplexing');
});

test('unknown keys are warnings naming the known ones (mapping.* means nothing to replicating)', () => {
  const { ctx, problems } = ctxOf({ 'mapping.CA': 'c1', optionl: 'c1' });
  parseSelector(ctx, ['c1']);
  assert.equal(problems.errors, []);
  assert.equal(problems.warnings.map((w) => w.key), ['a1.sources.r1.selector.mapping.CA', 'a1.sources.r1.selector.optionl']);
  assert.match(problems.warnings[0].expected, /type, optional/);
});

test('every channel optional: a warning, and events are counted as unrouted', () => {
  const { ctx, problems } = ctxOf({ optional: 'c1' });
  const sel = createSelector(parseSelector(ctx, ['c1']), channels('c1'));
  assert.is(problems.warnings.length, 1);
  const r = sel.route([eventOf('a'), eventOf('b')]);
  assert.is(r.required.size, 0);
  assert.equal(names(r.optional), ['c1']);
  assert.is(sel.unroutedEvents, 2);
});

test('concurrent routes get their own maps', () => {
  const { ctx } = ctxOf({});
  const sel = createSelector(parseSelector(ctx, ['c1']), channels('c1'));
  const a = [eventOf('a')];
  const b = [eventOf('b')];
  const ra = sel.route(a);
  const rb = sel.route(b);
  assert.is.not(ra.required, rb.required);
  assert.is([...ra.required.values()][0], a);
});

test('createSelector throws a typed error when a listed channel was not created', () => {
  const { ctx } = ctxOf({});
  const opts = parseSelector(ctx, ['c1', 'c2']);
  try {
    createSelector(opts, channels('c1'));
    assert.unreachable('should throw');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'SELECTOR_CHANNEL_MISSING');
  }
});

test.run();
