/**
 * A `.properties` parser with the semantics of `java.util.Properties.load`
 * (JDK 9+ LineReader and loadConvert), keeping the line each property starts on.
 *
 * Input is text; `configText` makes it of a file's bytes. Flume loads its config
 * through `Properties.load(InputStream)`, which decodes bytes as ISO-8859-1, one
 * byte → one char (U+0000–U+00FF); characters beyond latin1 are written as
 * `\uXXXX` escapes, which give real Unicode here as in Java.
 *
 * Rules, as Java applies them:
 * - A natural line ends at `\n`, `\r` or `\r\n`. Leading whitespace (space, tab,
 *   form feed) is skipped; blank lines are skipped.
 * - A line whose first non-whitespace character is `#` or `!` is a comment (only
 *   at the start of a logical line; a comment never continues onto the next line).
 * - A line ending in an odd number of backslashes continues on the next line: the
 *   last backslash is dropped and the next line's leading whitespace skipped. An
 *   even number is that many/2 literal backslashes. A blank next line ends it.
 * - The key ends at the first unescaped `=`, `:` or whitespace; whitespace around
 *   the separator is skipped, and one `=`/`:` after whitespace is the separator.
 * - Escapes: `\t \n \r \f`, `\uXXXX`; any other `\x` is `x` (so `\\ \= \: \# \! \ `).
 * - Trailing whitespace of the value is kept (Java keeps it). Flume's
 *   FlumeConfiguration then trims keys and values with `String.trim()`; use
 *   `javaTrim` for the exact same trim.
 *
 * Deviations, deliberate:
 * - A malformed `\u` escape makes Java throw and reject the whole file; here that
 *   one property is left out and a problem naming its line is returned, so every
 *   problem of a file can be reported at once.
 * - A UTF-8 byte order mark at the start (as `\uFEFF`, or as its three latin1
 *   chars `ï»¿`) is skipped; Java would glue it to the first key, silently.
 * Duplicate keys are all returned in file order (the last one wins in Java);
 * the caller decides how to warn.
 */
import { isUtf8 } from 'node:buffer';

/**
 * A config file's bytes as text: UTF-8 when they are valid UTF-8, else
 * ISO-8859-1 as Flume reads them (one byte, one char). Configs are written in
 * UTF-8 today, and Flume's decoding turned a UTF-8 `café` in a header value
 * into `cafÃ©`; bytes that are not valid UTF-8 (a latin1 `é` alone) read as
 * Flume reads them, and an ASCII file reads the same either way. Latin1 text
 * that is also valid UTF-8 with bytes ≥ 0x80 is mojibake already (`Ã©`).
 */
export function configText(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

export interface PropertyLine {
  key: string;
  value: string;
  /** 1-based line where the logical line starts (its first non-whitespace char). */
  line: number;
}

export interface PropertyProblem {
  line: number;
  message: string;
}

export interface ParsedProperties {
  lines: PropertyLine[];
  problems: PropertyProblem[];
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;
const FF = 12;
const BACKSLASH = 92;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === FF;
}

export function parseProperties(text: string): ParsedProperties {
  const lines: PropertyLine[] = [];
  const problems: PropertyProblem[] = [];
  for (const { raw, line } of logicalLines(stripBom(text))) {
    const [rawKey, rawValue] = splitKeyValue(raw);
    const key = unescape(rawKey, line, problems);
    const value = unescape(rawValue, line, problems);
    if (key === undefined || value === undefined) continue;
    lines.push({ key, value, line });
  }
  return { lines, problems };
}

/** Java's `String.trim()`: strips chars <= U+0020 at both ends (not JS's Unicode whitespace). */
export function javaTrim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= SPACE) a++;
  while (b > a && s.charCodeAt(b - 1) <= SPACE) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function stripBom(text: string): string {
  if (text.charCodeAt(0) === 0xfeff) return text.slice(1);
  if (text.startsWith('\u00ef\u00bb\u00bf')) return text.slice(3);
  return text;
}

/** Java's LineReader: joins continued lines, drops comments and blank lines; escapes stay raw. */
function* logicalLines(text: string): Generator<{ raw: string; line: number }> {
  const n = text.length;
  let i = 0;
  let line = 1;
  let startLine = 1;
  let buf = '';
  let skipWhiteSpace = true;
  let appendedLineBegin = false;
  let precedingBackslash = false;

  while (i < n) {
    const here = line;
    const c = text.charCodeAt(i++);
    const eol = c === LF || c === CR;
    if (eol) {
      // \r\n is one line break in every state of Java's reader
      if (c === CR && text.charCodeAt(i) === LF) i++;
      line++;
    }
    if (skipWhiteSpace) {
      if (isBlank(c)) continue;
      if (!appendedLineBegin && eol) continue;
      if (!appendedLineBegin) startLine = here;
      skipWhiteSpace = false;
      appendedLineBegin = false;
    }
    if (buf.length === 0 && (c === 35 /* # */ || c === 33 /* ! */)) {
      // comment: consume through the end of this natural line
      while (i < n) {
        const d = text.charCodeAt(i++);
        if (d === LF || d === CR) {
          if (d === CR && text.charCodeAt(i) === LF) i++;
          line++;
          break;
        }
      }
      skipWhiteSpace = true;
      continue;
    }
    if (!eol) {
      // take the run of ordinary chars up to the next line break in one slice
      let j = i;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === LF || d === CR) break;
        j++;
      }
      const chunk = text.slice(i - 1, j);
      buf += chunk;
      i = j;
      // the chunk is the rest of this natural line (the flag is false before it):
      // it continues when it ends in an odd number of backslashes
      let k = chunk.length - 1;
      while (k >= 0 && chunk.charCodeAt(k) === BACKSLASH) k--;
      precedingBackslash = (chunk.length - 1 - k) % 2 === 1;
      continue;
    }
    if (buf.length === 0) {
      skipWhiteSpace = true;
      continue;
    }
    if (precedingBackslash) {
      buf = buf.slice(0, -1);
      skipWhiteSpace = true;
      appendedLineBegin = true;
      precedingBackslash = false;
    } else {
      yield { raw: buf, line: startLine };
      buf = '';
      skipWhiteSpace = true;
    }
  }
  if (buf.length > 0) yield { raw: precedingBackslash ? buf.slice(0, -1) : buf, line: startLine };
}

/** Java's `load0`: the key ends at the first unescaped `=`, `:` or blank. */
function splitKeyValue(s: string): [string, string] {
  const limit = s.length;
  let keyLen = 0;
  let valueStart = limit;
  let hasSep = false;
  let precedingBackslash = false;
  while (keyLen < limit) {
    const c = s.charCodeAt(keyLen);
    if ((c === 61 /* = */ || c === 58 /* : */) && !precedingBackslash) {
      valueStart = keyLen + 1;
      hasSep = true;
      break;
    }
    if (isBlank(c) && !precedingBackslash) {
      valueStart = keyLen + 1;
      break;
    }
    precedingBackslash = c === BACKSLASH ? !precedingBackslash : false;
    keyLen++;
  }
  while (valueStart < limit) {
    const c = s.charCodeAt(valueStart);
    if (!isBlank(c)) {
      if (!hasSep && (c === 61 || c === 58)) hasSep = true;
      else break;
    }
    valueStart++;
  }
  return [s.slice(0, keyLen), s.slice(valueStart)];
}

/** Java's `loadConvert`; undefined (and a problem) on a malformed `\uXXXX`. */
function unescape(s: string, line: number, problems: PropertyProblem[]): string | undefined {
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s[i++];
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i >= n) break; // cannot happen: the reader drops an odd trailing backslash
    const e = s[i++];
    switch (e) {
      case 'u': {
        const hex = s.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          problems.push({ line, message: `malformed \\uXXXX escape "\\u${hex}" (Java rejects the whole file for this)` });
          return undefined;
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      default: out += e;
    }
  }
  return out;
}
