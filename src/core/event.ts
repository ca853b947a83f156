/** A Flume event: string headers plus a body of bytes. Bodies stay bytes end to end. */
export interface FlumeEvent {
  headers: Record<string, string>;
  body: Uint8Array;
}

const encoder = new TextEncoder();

export function eventOf(body: string | Uint8Array, headers: Record<string, string> = {}): FlumeEvent {
  return { headers, body: typeof body === 'string' ? encoder.encode(body) : body };
}

/** Approximate in-memory size, used for byte capacity accounting. */
export function eventBytes(e: FlumeEvent): number {
  let n = e.body.byteLength + 32;
  for (const k in e.headers) n += k.length + e.headers[k].length + 16;
  return n;
}
