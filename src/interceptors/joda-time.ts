/**
 * Parsing of dates with Joda-Time `DateTimeFormat` patterns, the syntax of
 * Flume's `RegexExtractorInterceptorMillisSerializer` (`pattern` key), to epoch
 * millis. Supported letters: `y` (`yy` = two-digit year, pivot now−30 as Joda),
 * `M` (1–2 digits; `MMM`/`MMMM` English month names), `d`, `H`, `h` + `a`
 * (AM/PM), `k` (1–24), `K` (0–11), `m`, `s`, `S` (fraction of a second), `E`
 * (English day names, checked for form only), `Z`/`ZZ` (offset like `+0100`,
 * `+01:00` or `Z`), quoted text `'…'`; other non-letters are literal. Any other
 * letter is a config error. As in Joda: a numeric field followed directly by
 * another numeric field has exactly as many digits as letters, otherwise it
 * takes up to 9; text is matched case-insensitively; the whole value must be
 * consumed; missing fields default to 1970-01-01 00:00:00.000; without an offset
 * in the value the local time zone is used (Joda: the JVM's default zone).
 */
import type { Compiled } from './java-regex.ts';

type Field = 'y' | 'yy' | 'M' | 'd' | 'H' | 'h' | 'k' | 'K' | 'm' | 's' | 'S';
type Token =
  | { kind: 'lit'; text: string }
  | { kind: 'num'; field: Field; width: number; exact: boolean }
  | { kind: 'month' }
  | { kind: 'dow' }
  | { kind: 'ampm' }
  | { kind: 'zone' };

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const NUMERIC = new Set(['y', 'M', 'd', 'H', 'h', 'k', 'K', 'm', 's', 'S']);

export function compileJodaPattern(pattern: string, now = new Date()): Compiled<(text: string) => number | undefined> {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= pattern.length) return { ok: false, error: `"${pattern}": unclosed quote` };
        if (pattern[i] === "'") {
          if (pattern[i + 1] === "'") {
            text += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += pattern[i++];
      }
      tokens.push({ kind: 'lit', text: text === '' ? "'" : text });
      continue;
    }
    if (!/[A-Za-z]/.test(c)) {
      tokens.push({ kind: 'lit', text: c });
      i++;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n++;
    i += n;
    // a numeric field right before another numeric field is fixed-width
    const next = pattern[i];
    const adjacentNumeric = next !== undefined && NUMERIC.has(next) && !(next === 'M' && pattern.startsWith('MMM', i));
    switch (c) {
      case 'y':
        tokens.push({ kind: 'num', field: n === 2 ? 'yy' : 'y', width: n, exact: adjacentNumeric });
        break;
      case 'M':
        tokens.push(n >= 3 ? { kind: 'month' } : { kind: 'num', field: 'M', width: n, exact: adjacentNumeric });
        break;
      case 'd': case 'H': case 'h': case 'k': case 'K': case 'm': case 's': case 'S':
        tokens.push({ kind: 'num', field: c, width: n, exact: adjacentNumeric });
        break;
      case 'a': tokens.push({ kind: 'ampm' }); break;
      case 'E': tokens.push({ kind: 'dow' }); break;
      case 'Z':
        if (n > 2) return { ok: false, error: `"${pattern}": zone ids (ZZZ) are not supported; use Z or ZZ` };
        tokens.push({ kind: 'zone' });
        break;
      default:
        return { ok: false, error: `"${pattern}": the pattern letter ${c} is not supported` };
    }
  }
  const pivot = now.getFullYear() - 30;
  return { ok: true, value: (text) => parseWith(tokens, text, pivot) };
}

function parseWith(tokens: Token[], text: string, pivot: number): number | undefined {
  const v: Record<Field, number | undefined> = { y: undefined, yy: undefined, M: undefined, d: undefined, H: undefined, h: undefined, k: undefined, K: undefined, m: undefined, s: undefined, S: undefined };
  let pm: boolean | undefined;
  let offsetMin: number | undefined;
  let pos = 0;
  const lower = text.toLowerCase();
  for (const t of tokens) {
    switch (t.kind) {
      case 'lit':
        if (lower.slice(pos, pos + t.text.length) !== t.text.toLowerCase()) return undefined;
        pos += t.text.length;
        break;
      case 'num': {
        const max = t.exact ? t.width : 9;
        let end = pos;
        while (end < text.length && end - pos < max && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
        if (end === pos || (t.exact && end - pos !== t.width)) return undefined;
        const digits = text.slice(pos, end);
        pos = end;
        if (t.field === 'S') {
          v.S = Math.floor(Number(`0.${digits}`) * 1000 + 1e-9);
        } else if (t.field === 'yy') {
          if (digits.length !== 2) {
            v.y = Number(digits); // Joda is lenient: a longer year is taken as written
          } else {
            const yy = Number(digits);
            let y = Math.floor(pivot / 100) * 100 + yy;
            if (y < pivot - 50) y += 100;
            else if (y > pivot + 49) y -= 100;
            v.y = y;
          }
        } else {
          v[t.field] = Number(digits);
        }
        break;
      }
      case 'month': {
        const hit = matchName(lower, pos, MONTHS);
        if (!hit) return undefined;
        v.M = hit.index + 1;
        pos += hit.length;
        break;
      }
      case 'dow': {
        const hit = matchName(lower, pos, DAYS);
        if (!hit) return undefined;
        pos += hit.length;
        break;
      }
      case 'ampm':
        if (lower.startsWith('am', pos)) pm = false;
        else if (lower.startsWith('pm', pos)) pm = true;
        else return undefined;
        pos += 2;
        break;
      case 'zone': {
        if (text[pos] === 'Z') {
          offsetMin = 0;
          pos++;
          break;
        }
        const m = /^([+-])(\d\d):?(\d\d)?/.exec(text.slice(pos));
        if (!m) return undefined;
        offsetMin = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
        pos += m[0].length;
        break;
      }
    }
  }
  if (pos !== text.length) return undefined;

  let hour = v.H ?? 0;
  if (v.h !== undefined) {
    if (v.h < 1 || v.h > 12) return undefined;
    hour = (v.h % 12) + (pm ? 12 : 0);
  } else if (v.K !== undefined) {
    if (v.K > 11) return undefined;
    hour = v.K + (pm ? 12 : 0);
  } else if (v.k !== undefined) {
    if (v.k < 1 || v.k > 24) return undefined;
    hour = v.k % 24;
  } else if (pm && v.H === undefined) {
    hour = 12;
  }
  const year = v.y ?? 1970;
  const month = v.M ?? 1;
  const day = v.d ?? 1;
  const minute = v.m ?? 0;
  const second = v.s ?? 0;
  const ms = v.S ?? 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(0);
  if (offsetMin !== undefined) {
    d.setUTCFullYear(year, month - 1, day);
    d.setUTCHours(hour, minute, second, ms);
    if (d.getUTCDate() !== day) return undefined; // 30 February
    return d.getTime() - offsetMin * 60_000;
  }
  d.setFullYear(year, month - 1, day);
  d.setHours(hour, minute, second, ms);
  if (d.getDate() !== day) return undefined;
  return d.getTime();
}

/** The longest full or three-letter English name at `pos`. */
function matchName(lower: string, pos: number, names: string[]): { index: number; length: number } | undefined {
  for (let i = 0; i < names.length; i++) {
    if (lower.startsWith(names[i], pos)) return { index: i, length: names[i].length };
  }
  for (let i = 0; i < names.length; i++) {
    if (lower.startsWith(names[i].slice(0, 3), pos)) return { index: i, length: 3 };
  }
  return undefined;
}
