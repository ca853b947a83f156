/**
 * A FIFO of items with an O(1) amortised shift: an array with a moving head
 * that is compacted once the consumed prefix dominates. Used by the memory
 * channel's queue, where `Array.prototype.shift` on millions of items is O(n).
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The item `i` places from the head, if there is one. */
  at(i: number): T | undefined {
    return this.items[this.head + i];
  }

  /** Removes and returns up to `n` items from the head. */
  shiftMany(n: number): T[] {
    const end = Math.min(this.items.length, this.head + n);
    const out = this.items.slice(this.head, end);
    this.head = end;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Puts items back at the head, ahead of everything else, keeping their order. */
  unshiftMany(list: readonly T[]): void {
    if (list.length <= this.head) {
      for (let i = 0; i < list.length; i++) this.items[this.head - list.length + i] = list[i];
      this.head -= list.length;
    } else {
      this.items = [...list, ...this.items.slice(this.head)];
      this.head = 0;
    }
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
}
