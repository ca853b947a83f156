/**
 * Renders bytes the way Flume's logger sink does (commons-io HexDump, as used
 * by EventHelper.dumpEvent): rows of 16 bytes — an 8-digit hex offset, a
 * space, 16 cells of two uppercase hex digits and a space (three spaces for a
 * missing cell), the bytes as ASCII (`.` for anything outside 0x20–0x7E) —
 * joined by newlines; the first row's offset is cut, so the dump starts with
 * a space.
 */
const HEX = '0123456789ABCDEF';

export function flumeHexDump(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  const rows: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    let hex = '';
    let text = '';
    for (let i = 0; i < 16; i++) {
      if (off + i < bytes.length) {
        const b = bytes[off + i];
        hex += HEX[b >> 4] + HEX[b & 15] + ' ';
        text += b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.';
      } else {
        hex += '   ';
      }
    }
    const offset = off.toString(16).toUpperCase().padStart(8, '0');
    rows.push((off === 0 ? '' : offset) + ' ' + hex + text);
  }
  return rows.join('\n');
}

/** Java's `Map.toString`: `{k1=v1, k2=v2}`. */
export function javaMapString(headers: Record<string, string>): string {
  return '{' + Object.entries(headers).map(([k, v]) => `${k}=${v}`).join(', ') + '}';
}

/** One event as Flume's LoggerSink logs it: `Event: { headers:{…} body: <dump> }`. */
export function flumeEventLine(headers: Record<string, string>, body: Uint8Array, maxBytesToLog: number): string {
  const shown = body.length > maxBytesToLog ? body.subarray(0, maxBytesToLog) : body;
  return `Event: { headers:${javaMapString(headers)} body:${flumeHexDump(shown)} }`;
}
