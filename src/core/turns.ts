/**
 * Runs async steps one after another, in the order they were asked for,
 * whatever each one's outcome. A channel admits puts through it so that a
 * batch waiting for room holds back the batches put after it: a smaller
 * batch never slips past a larger one that came first, and a source that
 * keeps several puts in flight finds its lines in the channel in order.
 */
export class Turns {
  private last: Promise<unknown> = Promise.resolve();

  run<T>(step: () => Promise<T>): Promise<T> {
    const turn = this.last.then(step);
    this.last = turn.catch(() => undefined);
    return turn;
  }
}
