import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineBatch } from '../src/core/line-batch.ts';

function fill(batch: LineBatch, n: number): Buffer {
  const buf = Buffer.from(Array.from({ length: n }, (_, i) => `line ${i}`).join('\n') + '\n');
  let s = 0;
  for (let i = 0; i < n; i++) {
    const nl = buf.indexOf(10, s);
    batch.add(buf, s, nl);
    s = nl + 1;
  }
  return buf;
}

test('a batch grows from a few lines to its limit, keeping every line where it was', () => {
  const b = new LineBatch({ file: 'f' }, 1000);
  assert.is(b.starts.length, 64);
  const buf = fill(b, 1000);
  assert.is(b.count, 1000);
  assert.is(b.starts.length, 1000);
  const lines = b.events().map((e) => Buffer.from(e.body).toString());
  assert.equal(lines, buf.toString().split('\n').slice(0, 1000));
  assert.throws(() => b.add(buf, 0, 1), /at most 1000 lines/);
});

test('a batch expected to fill (a backlog) has room for its limit from the start', () => {
  const b = new LineBatch({}, 1000, 1000);
  assert.is(b.starts.length, 1000);
  const starts = b.starts;
  fill(b, 1000);
  assert.ok(b.starts === starts, 'it never grew');
  assert.is(new LineBatch({}, 200, 5000).starts.length, 200);
  assert.is(new LineBatch({}, 10, 0).starts.length, 10);
});

test('starts and ends share one allocation without overlapping', () => {
  for (const expect of [0, 100, 1000]) {
    const b = new LineBatch({}, 1000, expect);
    fill(b, 700);
    for (let i = 0; i < 700; i++) assert.ok(b.ends[i] > b.starts[i] && (i === 0 || b.starts[i] === b.ends[i - 1] + 1), `line ${i}`);
    assert.ok(b.starts.buffer === b.ends.buffer);
  }
});

test.run();
