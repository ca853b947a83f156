/**
 * Writes the entries of a segment of lines with WebAssembly (move-lines.wat):
 * the segment's bytes and its lines' offsets are copied into the module's
 * memory, the entries are made there (a header and one memory.copy per line),
 * and the result is copied into the frame. Three bulk copies and a loop cost
 * less than moveLines' copyWithin per line, each a call into the runtime
 * (BENCHMARKS.md, thirteenth session).
 *
 * The frame itself stays an ordinary buffer of the frame pool: takes and
 * decoding sinks keep views of it, which must not pin the module's memory.
 * One mover per file channel; its memory holds one segment at a time and is
 * let grow only to MAX_BYTES (larger segments are moved in JavaScript).
 */
import { MOVE_LINES_WASM } from './move-lines-wasm.ts';

const MODULE = new WebAssembly.Module(Buffer.from(MOVE_LINES_WASM, 'base64'));
const PAGE = 65536;
/** The memory a mover may grow to; a segment that needs more is moved in JavaScript. */
const MAX_BYTES = 8 << 20;

type EntriesFn = (n: number, st: number, en: number, src: number, dst: number, frame: number, count: number) => number;

export class LineMover {
  private readonly memory: WebAssembly.Memory;
  private readonly entriesFn: EntriesFn;
  private u8: Uint8Array;
  private i32: Int32Array;

  constructor() {
    const exports = new WebAssembly.Instance(MODULE, {}).exports as { memory: WebAssembly.Memory; entries: EntriesFn };
    this.memory = exports.memory;
    this.entriesFn = exports.entries;
    this.u8 = new Uint8Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }

  /** True if segments of `bytes` bytes and `lines` lines fit in the memory the mover may have. */
  fits(bytes: number, lines: number): boolean {
    return lines * 18 + bytes * 2 <= MAX_BYTES;
  }

  /**
   * Writes into `frame` at `at` the entries of lines [from, to) of a segment
   * whose bytes are `src[base, end)` (`starts`/`ends`: offsets into `src`),
   * each entry `back` bytes from its frame's start plus its offset from `at`,
   * with header count `count`. Returns the end of the last entry. The
   * segment must fit (`fits`).
   */
  entries(frame: Uint8Array, at: number, src: Uint8Array, base: number, end: number, starts: Int32Array, ends: Int32Array, from: number, to: number, count: number): number {
    const n = to - from;
    const bytes = end - base;
    const st = 0;
    const en = n * 4;
    const input = n * 8;
    const output = input + bytes;
    // every line's entry adds 10 bytes to its body
    const need = output + bytes + n * 10;
    if (need > this.u8.byteLength) this.grow(need);
    this.u8.set(src.subarray(base, end), input);
    this.i32.set(starts.subarray(from, to), st >> 2);
    this.i32.set(ends.subarray(from, to), en >> 2);
    // src - base: the module adds each line's start (an offset into `src`) to it
    const stop = this.entriesFn(n, st, en, input - base, output, output - at, count);
    frame.set(this.u8.subarray(output, stop), at);
    return at + (stop - output);
  }

  private grow(bytes: number): void {
    if (bytes > MAX_BYTES) throw new RangeError(`a segment of ${bytes} bytes does not fit the line mover`);
    const want = Math.min(MAX_BYTES, Math.max(bytes, this.u8.byteLength * 2));
    this.memory.grow(Math.ceil((want - this.u8.byteLength) / PAGE));
    this.u8 = new Uint8Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }
}
