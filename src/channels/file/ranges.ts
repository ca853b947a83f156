/**
 * Sets of log spans. The channel's backlog is not a list of events but a few
 * spans of the log (the log is FIFO): the unread tail, spans handed back by
 * rollbacks, and holes left by takes that committed out of order.
 */
import type { Range } from './framing.ts';

/** Inserts `r` keeping `list` sorted by start; merges with neighbours it touches exactly. */
export function insertRange(list: Range[], r: Range): void {
  if (r.end <= r.start) return;
  let i = list.length;
  while (i > 0 && list[i - 1].start > r.start) i--;
  list.splice(i, 0, { start: r.start, end: r.end });
  // merge with the next, then with the previous
  if (i + 1 < list.length && list[i].end === list[i + 1].start) {
    list[i].end = list[i + 1].end;
    list.splice(i + 1, 1);
  }
  if (i > 0 && list[i - 1].end === list[i].start) {
    list[i - 1].end = list[i].end;
    list.splice(i, 1);
  }
}

/** Removes `cut` from every span of `list` (sorted, disjoint), in place. */
export function subtractRange(list: Range[], cut: Range): void {
  if (cut.end <= cut.start) return;
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (r.end <= cut.start || r.start >= cut.end) continue;
    const left = r.start < cut.start ? { start: r.start, end: cut.start } : undefined;
    const right = r.end > cut.end ? { start: cut.end, end: r.end } : undefined;
    const repl = [left, right].filter((x): x is Range => x !== undefined);
    list.splice(i, 1, ...repl);
    i += repl.length - 1;
  }
}

/** Drops the parts of spans below `floor` (data that no longer exists on disk). */
export function clipBelow(list: Range[], floor: number): void {
  for (let i = 0; i < list.length; i++) {
    if (list[i].end <= floor) {
      list.splice(i--, 1);
    } else if (list[i].start < floor) {
      list[i].start = floor;
    }
  }
}
