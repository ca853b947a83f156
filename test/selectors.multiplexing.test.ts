import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Channel } from '../src/channels/channel.ts';
import { eventOf, type FlumeEvent } from '../src/core/event.ts';
import { createSelector, parseSelector, type MultiplexingOptions } from '../src/selectors/spec.ts';
import { contextOf } from './helpers/context.ts';
import { fakeChannel } from './helpers/fake-channel.ts';

const ALL = ['c1', 'c2', 'c3', 'c4'];
const chans = new Map(ALL.map((n) => [n, fakeChannel(n)]));

/** A selector context; the keys get lines 20, 21, … in the order given (`type` first when build adds it). */
function ctxOf(props: Record<string, string>) {
  return contextOf('a1.sources.r1.selector', props, 20, 5);
}

function build(props: Record<string, string>, sourceChannels = ALL) {
  const { ctx, problems } = ctxOf({ type: 'multiplexing', ...props });
  const opts = parseSelector(ctx, sourceChannels);
  return { opts, problems, sel: createSelector(opts, chans) };
}

/** event body → channel names, for required and optional. */
function routed(r: { required: Map<Channel, FlumeEvent[]>; optional: Map<Channel, FlumeEvent[]> }) {
  const dec = new TextDecoder();
  const view = (m: Map<Channel, FlumeEvent[]>) => Object.fromEntries([...m].map(([c, es]) => [c.name, es.map((e) => dec.decode(e.body))]));
  return { required: view(r.required), optional: view(r.optional) };
}

const ev = (body: string, state?: string) => eventOf(body, state === undefined ? {} : { state });

test('parses header, mapping.*, default and optional.* with Flume defaults', () => {
  const { ctx, problems } = ctxOf({ type: 'multiplexing', 'mapping.CA': 'c1', 'mapping.AZ': 'c2 c3', default: 'c4', 'optional.CA': 'c2' });
  const opts = parseSelector(ctx, ALL) as MultiplexingOptions;
  assert.equal(problems.list, []);
  assert.is(opts.header, 'flume.selector.header');
  assert.equal([...opts.mapping], [['CA', ['c1']], ['AZ', ['c2', 'c3']]]);
  assert.equal(opts.defaults, ['c4']);
  assert.equal([...opts.optional], [['CA', ['c2']]]);
});

test('events go to the channels mapped for their header value; the rest to default', () => {
  const { sel } = build({ header: 'state', 'mapping.CA': 'c1', 'mapping.AZ': 'c2 c3', default: 'c4' });
  const r = sel.route([ev('a', 'CA'), ev('b', 'AZ'), ev('c', 'NY'), ev('d'), ev('e', '  '), ev('f', 'CA')]);
  assert.equal(routed(r), {
    required: { c1: ['a', 'f'], c2: ['b'], c3: ['b'], c4: ['c', 'd', 'e'] },
    optional: {},
  });
  assert.is(sel.unroutedEvents, 0);
});

test('the header value is matched exactly (case and spaces count)', () => {
  const { sel } = build({ header: 'state', 'mapping.CA': 'c1', default: 'c4' });
  assert.equal(routed(sel.route([ev('a', 'ca'), ev('b', ' CA')])).required, { c4: ['a', 'b'] });
});

test('a batch with one route hands the batch array itself to its channels', () => {
  const { sel } = build({ header: 'state', 'mapping.CA': 'c1 c2', default: 'c4' });
  const batch = [ev('a', 'CA'), ev('b', 'CA')];
  const r = sel.route(batch);
  assert.is(r.required.get(chans.get('c1')!), batch);
  assert.is(r.required.get(chans.get('c2')!), batch);
  const fallback = [ev('x'), ev('y', 'NY')];
  assert.is(sel.route(fallback).required.get(chans.get('c4')!), fallback);
});

test('optional.<value>: optional channels for that value; required ∩ optional stays required', () => {
  const { sel } = build({ header: 'state', 'mapping.CA': 'c1', 'optional.CA': 'c1 c2', 'optional.NY': 'c3 c4', default: 'c4' });
  const r = sel.route([ev('a', 'CA'), ev('b', 'NY'), ev('c')]);
  assert.equal(routed(r), {
    required: { c1: ['a'], c4: ['b', 'c'] },
    optional: { c2: ['a'], c3: ['b'] },
  });
});

test('no default: unmapped and header-less events reach no required channel, counted as unrouted', () => {
  const { sel, problems } = build({ header: 'state', 'mapping.CA': 'c1', 'optional.NY': 'c3' });
  assert.equal(problems.errors, []);
  assert.equal(problems.warnings.map((w) => w.key), ['a1.sources.r1.selector.default']);
  const r = sel.route([ev('a', 'CA'), ev('b', 'NY'), ev('c'), ev('d', 'TX')]);
  assert.equal(routed(r), { required: { c1: ['a'] }, optional: { c3: ['b'] } });
  assert.is(sel.unroutedEvents, 3);
  sel.route([ev('e')]);
  assert.is(sel.unroutedEvents, 4);
});

test('inherited object keys are not header values', () => {
  const { sel } = build({ header: 'constructor', 'mapping.x': 'c1', default: 'c4' });
  assert.equal(routed(sel.route([ev('a')])).required, { c4: ['a'] });
});

test('channels that are not the source channels are errors naming them, with their lines', () => {
  const { problems } = build(
    { header: 'state', 'mapping.CA': 'c1 zz', default: 'yy', 'optional.CA': 'xx' },
    ['c1', 'c2'],
  );
  assert.equal(
    problems.errors.map((p) => [p.line, p.key, p.found]),
    [
      [23, 'a1.sources.r1.selector.default', 'channel "yy", which is not a channel of this source'],
      [22, 'a1.sources.r1.selector.mapping.CA', 'channel "zz", which is not a channel of this source'],
      [24, 'a1.sources.r1.selector.optional.CA', 'channel "xx", which is not a channel of this source'],
    ],
  );
  assert.is(problems.errors[0].expected, "one of the source's channels: c1 c2");
});

test('a mapping with no channels is an error', () => {
  const { ctx, problems } = ctxOf({ type: 'multiplexing', 'mapping.CA': ' ', default: 'c1' });
  parseSelector(ctx, ALL);
  assert.equal(problems.errors.map((p) => [p.key, p.found]), [['a1.sources.r1.selector.mapping.CA', 'no channels']]);
});

test('unknown keys are warnings (a plain "optional" means nothing to multiplexing)', () => {
  const { problems } = build({ optional: 'c1', headr: 'x', default: 'c1' });
  assert.equal(problems.warnings.map((w) => w.key), ['a1.sources.r1.selector.optional', 'a1.sources.r1.selector.headr']);
  assert.match(problems.warnings[0].expected, /mapping\.<value>/);
});

test('the Flume class name selects multiplexing', () => {
  const { ctx, problems } = ctxOf({ type: 'org.apache.flume.channel.MultiplexingChannelSelector', default: 'c1' });
  assert.is(parseSelector(ctx, ALL).type, 'multiplexing');
  assert.equal(problems.list, []);
});

test('selector.channels is every channel of the source', () => {
  const { sel } = build({ 'mapping.x': 'c1', default: 'c2' });
  assert.equal(sel.channels.map((c) => c.name), ALL);
});

test.run();
