/** A Flume event: string headers plus a body of bytes. Bodies stay bytes end to end. */
export interface FlumeEvent {
  headers: Record<string, string>;
  body: Uint8Array;
}

const encoder = new TextEncoder();

export function eventOf(body: string | Uint8Array, headers: Record<string, string> = {}): FlumeEvent {
  return { headers, body: typeof body === 'string' ? encoder.encode(body) : body };
}

/**
 * True when `h` holds exactly the headers and values of `prev`, which has
 * `prevCount` of them. Compared by value: encoders reuse the bytes of the
 * previous event's headers while they are equal.
 */
export function sameHeaders(h: Record<string, string>, prev: Record<string, string> | undefined, prevCount: number): boolean {
  if (prev === undefined) return false;
  if (h === prev) return true;
  let n = 0;
  for (const k in h) {
    if (h[k] !== prev[k]) return false;
    n++;
  }
  return n === prevCount;
}

export function headerCount(h: Record<string, string>): number {
  let n = 0;
  for (const _ in h) n++;
  return n;
}

/** Approximate in-memory size, used for byte capacity accounting. */
export function eventBytes(e: FlumeEvent): number {
  let n = e.body.byteLength + 32;
  for (const k in e.headers) n += k.length + e.headers[k].length + 16;
  return n;
}
