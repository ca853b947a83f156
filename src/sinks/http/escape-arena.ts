/**
 * The memory JSON bodies are escaped in: a WebAssembly instance of
 * json-escape.wat, whose memory holds the bodies to escape (input) and the
 * request bodies made of them (output). It writes a whole element per call
 * and escapes sixteen bytes at a time; the word-at-a-time JavaScript scan it
 * replaced took 2.5–3.5 times as long per access-log line on Node, Bun and
 * Deno (BENCHMARKS.md).
 *
 * Layout: [0, 256) the escape of each control byte; then the input, copied in
 * before any output is written; then the output, which grows. Memory only
 * grows, so an arena that a huge batch made large is dropped (`oversized`)
 * rather than kept for reuse.
 */
import { Buffer } from 'node:buffer';
import { FlumeError } from '../../core/errors.ts';
import { JSON_ESCAPE_WASM } from './json-escape-wasm.ts';

/** Compiled once per thread; each arena is an instance with a memory of its own. */
const MODULE = new WebAssembly.Module(Buffer.from(JSON_ESCAPE_WASM, 'base64'));

const PAGE = 65536;
/** Where the input starts: after the escape table. */
const INPUT = 256;
/** What `element` may read past an input's end and write past its output's end. */
export const SLACK = 16;
/** Addresses must leave bit 31 free: `escape` flags non-ASCII input there. */
const MAX_BYTES = 2 ** 31 - PAGE;
/** An arena grown past this is not reused. */
const KEEP_BYTES = 8 << 20;

type ElementFn = (s: number, n: number, o: number, at: number, len: number, sep: number) => number;

export class ArenaFullError extends FlumeError {
  constructor(bytes: number) {
    super('ENCODE_TOO_LARGE', `a batch needs ${bytes} bytes to encode, more than the encoder's 2 GB`);
  }
}

export class EscapeArena {
  private readonly memory: WebAssembly.Memory;
  private readonly elementFn: ElementFn;
  /** The whole memory; replaced when it grows (growing detaches the old one). */
  buf: Buffer;

  constructor() {
    const exports = new WebAssembly.Instance(MODULE, {}).exports as { memory: WebAssembly.Memory; element: ElementFn };
    this.memory = exports.memory;
    this.elementFn = exports.element;
    this.buf = Buffer.from(this.memory.buffer);
    // the table: each control byte's escape as JSON.stringify writes it (`\n`, `\u0001`, …)
    for (let c = 0; c < 0x20; c++) {
      const esc = JSON.stringify(String.fromCharCode(c)).slice(1, -1);
      this.buf[c * 8] = esc.length;
      this.buf.write(esc, c * 8 + 1, 'latin1');
    }
  }

  /** Where the output starts when `inputBytes` of input come first. */
  static outputAt(inputBytes: number): number {
    return INPUT + inputBytes + SLACK;
  }

  static get inputAt(): number {
    return INPUT;
  }

  /** Makes the memory at least `bytes` long; `buf` may be a new view after. */
  ensure(bytes: number): void {
    if (bytes <= this.buf.byteLength) return;
    if (bytes > MAX_BYTES) throw new ArenaFullError(bytes);
    // at least double, so a batch that grows byte by byte does not grow page by page
    const want = Math.min(MAX_BYTES, Math.max(bytes, this.buf.byteLength * 2));
    this.memory.grow(Math.ceil((want - this.buf.byteLength) / PAGE));
    this.buf = Buffer.from(this.memory.buffer);
  }

  /**
   * Writes at `o` the `len` bytes at `at` (a prefix written before, or at `o`
   * itself), the `n` bytes at `s` escaped, `"}` and `sep`. Returns the end of
   * the output, or that end with bit 31 set (a negative number) when some
   * byte of the body was 0x80 or more and it must be checked for UTF-8.
   */
  element(s: number, n: number, o: number, at: number, len: number, sep: number): number {
    return this.elementFn(s, n, o, at, len, sep);
  }

  get oversized(): boolean {
    return this.buf.byteLength > KEEP_BYTES;
  }
}
