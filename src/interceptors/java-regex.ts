/**
 * Java regular expressions (java.util.regex, as Flume's interceptors use them)
 * translated to JavaScript RegExps, and Java `replaceAll` replacement strings.
 *
 * The common syntax is the same. What differs is translated so that a pattern
 * written for Flume means the same here; what cannot be translated is an error
 * at config time, never a silently different match:
 * - leading inline flags `(?i)`, `(?s)`, `(?m)` (also combined) → JS flags; `(?u)`
 *   and `(?d)` are accepted (JS matching is already Unicode-aware); other inline
 *   flags, flags in the middle, `(?>…)` atomic groups, possessive quantifiers
 *   (`a*+`), class unions `[a[b]]` and intersections `[a&&b]`, `\G`, `\X` are errors.
 * - `\Q…\E` quoting, `\A`, `\z`, `\Z`, `\R`, `\h`, `\H`, `\v` (Java: any vertical
 *   whitespace), `\a`, `\e`, `\0nn` octal, `\x{h…}`, POSIX classes `\p{Alpha}`,
 *   `\p{Punct}` …, `\p{IsLatin}` scripts, and `$` (which in Java also matches
 *   before a final line terminator) are rewritten.
 * - Java lets any non-alphanumeric character be escaped (`\_`, `\-`, `\'`) and
 *   treats a lone `]` or `}` as a literal; those become JS-valid literals.
 * Patterns compile with the `u` flag, so `.` matches a whole code point as in Java.
 * Known remaining difference: `\s` also matches Unicode spaces (Java: ASCII only).
 */
export type Compiled<T> = { ok: true; value: T } | { ok: false; error: string };

const POSIX: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7F',
  Alpha: 'A-Za-z',
  Digit: '0-9',
  Alnum: 'A-Za-z0-9',
  Punct: '\\x21-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7E',
  Graph: '\\x21-\\x7E',
  Print: '\\x20-\\x7E',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1F\\x7F',
  XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0B\\f\\r',
};
const HSPACE = ' \\t\\xA0\\u1680\\u180E\\u2000-\\u200A\\u202F\\u205F\\u3000';
const VSPACE = '\\n\\x0B\\f\\r\\x85\\u2028\\u2029';
const END_Z = '(?=(?:\\r\\n|[\\n\\r\\u0085\\u2028\\u2029])?(?![\\s\\S]))';

const SYNTAX = '^$\\.*+?()[]{}|/';
const CLASS_SYNTAX = '\\]^-[';

function literal(ch: string, inClass: boolean): string {
  return (inClass ? CLASS_SYNTAX : SYNTAX).includes(ch) ? `\\${ch}` : ch;
}

/** Translates a Java pattern to a JS RegExp (`u` plus the given flags, e.g. `g`). */
export function compileJavaRegex(source: string, extraFlags = ''): Compiled<RegExp> {
  const fail = (why: string): Compiled<RegExp> => ({ ok: false, error: `"${source}": ${why}` });
  const flags = new Set<string>(extraFlags);
  let i = 0;
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (lead) {
    for (const f of lead[1]) {
      if (f === 'i' || f === 's' || f === 'm') flags.add(f);
      else if (f !== 'u' && f !== 'd') return fail(`the inline flag (?${f}) is not supported`);
    }
    i = lead[0].length;
  }
  const multiline = flags.has('m');
  const n = source.length;
  let out = '';
  let inClass = false;
  // a quantifier just ended: a following `+` would make it possessive
  const afterQuantifier = (): string | undefined => {
    if (source[i] === '?') {
      out += '?';
      i++;
    } else if (source[i] === '+') {
      return 'possessive quantifiers (like a*+) are not supported';
    }
    return undefined;
  };

  while (i < n) {
    const c = source[i];
    if (c === '\\') {
      const d = source[i + 1];
      if (d === undefined) return fail('it ends with a lone backslash');
      if (d === 'Q') {
        const end = source.indexOf('\\E', i + 2);
        const text = end < 0 ? source.slice(i + 2) : source.slice(i + 2, end);
        for (const ch of text) out += literal(ch, inClass);
        i = end < 0 ? n : end + 2;
        continue;
      }
      i += 2;
      if (!/[A-Za-z0-9]/.test(d)) {
        out += literal(d, inClass);
        continue;
      }
      if (/[1-9]/.test(d)) {
        out += `\\${d}`;
        continue;
      }
      switch (d) {
        case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
          out += `\\${d}`;
          // Java reads [\w-.] as \w, '-', '.'; JS (u) rejects a range from a class escape
          if (inClass && source[i] === '-' && source[i + 1] !== ']') {
            out += '\\-';
            i++;
          }
          break;
        case 't': case 'n': case 'r': case 'f': case 'k': case 'c': case 'u':
          out += `\\${d}`;
          break;
        case 'b': case 'B':
          if (inClass) return fail(`\\${d} inside a character class is not supported`);
          out += `\\${d}`;
          break;
        case 'a': out += '\\x07'; break;
        case 'e': out += '\\x1B'; break;
        case 'x': {
          if (source[i] === '{') {
            const close = source.indexOf('}', i);
            if (close < 0) return fail('unclosed \\x{…}');
            out += `\\u{${source.slice(i + 1, close)}}`;
            i = close + 1;
          } else {
            out += '\\x';
          }
          break;
        }
        case '0': {
          const m = /^(?:[0-3][0-7]{2}|[0-7]{1,2})/.exec(source.slice(i));
          if (!m) return fail('\\0 must be followed by octal digits');
          out += `\\u{${parseInt(m[0], 8).toString(16)}}`;
          i += m[0].length;
          break;
        }
        case 'p': case 'P': {
          let name: string;
          if (source[i] === '{') {
            const close = source.indexOf('}', i);
            if (close < 0) return fail(`unclosed \\${d}{…}`);
            name = source.slice(i + 1, close);
            i = close + 1;
          } else {
            name = source[i] ?? '';
            i++;
          }
          const posix = POSIX[name.startsWith('Is') && POSIX[name.slice(2)] ? name.slice(2) : name];
          if (posix !== undefined) {
            if (d === 'p') out += inClass ? posix : `[${posix}]`;
            else if (inClass) return fail(`\\P{${name}} inside a character class is not supported`);
            else out += `[^${posix}]`;
            break;
          }
          const prop = unicodeProperty(name);
          if (prop === undefined) return fail(`the character property \\${d}{${name}} is not supported`);
          out += `\\${d}{${prop}}`;
          break;
        }
        case 'h': out += inClass ? HSPACE : `[${HSPACE}]`; break;
        case 'v': out += inClass ? VSPACE : `[${VSPACE}]`; break;
        case 'H': case 'V':
          if (inClass) return fail(`\\${d} inside a character class is not supported`);
          out += `[^${d === 'H' ? HSPACE : VSPACE}]`;
          break;
        case 'R':
          if (inClass) return fail('\\R inside a character class is not valid');
          out += `(?:\\r\\n|[${VSPACE}])`;
          break;
        case 'A': case 'z': case 'Z':
          if (inClass) return fail(`\\${d} inside a character class is not valid`);
          out += d === 'A' ? '(?<![\\s\\S])' : d === 'z' ? '(?![\\s\\S])' : END_Z;
          break;
        default:
          return fail(`\\${d} is not supported`);
      }
      continue;
    }
    if (inClass) {
      if (c === '[') return fail('nested character classes (Java unions like [a[b]]) are not supported');
      if (c === '&' && source[i + 1] === '&') return fail('character class intersections (&&) are not supported');
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    switch (c) {
      case '[':
        inClass = true;
        out += '[';
        i++;
        if (source[i] === '^') {
          out += '^';
          i++;
        }
        // Java reads a `]` right after `[` or `[^` as a literal; JS would close the class
        if (source[i] === ']') {
          out += '\\]';
          i++;
        }
        break;
      case '(':
        if (source[i + 1] === '?') {
          const rest = source.slice(i);
          const m = /^\(\?(?::|=|!|<=|<!|<[A-Za-z][A-Za-z0-9]*>)/.exec(rest);
          if (!m) {
            if (rest.startsWith('(?>')) return fail('atomic groups (?>…) are not supported');
            return fail('inline flags are only supported at the very start, as (?i) (?s) (?m)');
          }
          out += m[0];
          i += m[0].length;
        } else {
          out += '(';
          i++;
        }
        break;
      case '*': case '+': case '?': {
        out += c;
        i++;
        const bad = afterQuantifier();
        if (bad) return fail(bad);
        break;
      }
      case '{': {
        const m = /^\{\d+(?:,\d*)?\}/.exec(source.slice(i));
        if (!m) return fail(`illegal repetition at "${source.slice(i, i + 8)}"`);
        out += m[0];
        i += m[0].length;
        const bad = afterQuantifier();
        if (bad) return fail(bad);
        break;
      }
      case '}': case ']':
        out += `\\${c}`;
        i++;
        break;
      case '$':
        out += multiline ? '$' : END_Z;
        i++;
        break;
      default:
        out += c;
        i++;
    }
  }
  if (inClass) return fail('unclosed character class');
  flags.add('u');
  try {
    return { ok: true, value: new RegExp(out, [...flags].join('')) };
  } catch (err) {
    return fail((err as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}

/** Java `\p{…}` names that JS spells differently: `IsLatin` → `Script=Latin`, `IsAlphabetic` → `Alphabetic`. */
function unicodeProperty(name: string): string | undefined {
  const candidates = name.startsWith('Is') ? [name.slice(2), `Script=${name.slice(2)}`] : [name, `Script=${name}`];
  for (const p of candidates) {
    try {
      new RegExp(`\\p{${p}}`, 'u');
      return p;
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

type Part = string | number | { name: string };

/**
 * Compiles a Java `Matcher.replaceAll` replacement for `regex`: `$n` (the longest
 * run of digits that names an existing group), `${name}`, `\x` for a literal x.
 * Errors Java raises (a lone `$` or `\`, a group that does not exist) are
 * reported here, at config time. Returns `(text) => text with every match replaced`.
 */
export function compileJavaReplacement(replacement: string, regex: RegExp): Compiled<(s: string) => string> {
  const fail = (why: string): Compiled<(s: string) => string> => ({ ok: false, error: `"${replacement}": ${why}` });
  const probe = new RegExp(`${regex.source}|`, regex.flags.replace('g', '')).exec('')!;
  const groupCount = probe.length - 1;
  const names = new Set(Object.keys(probe.groups ?? {}));
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < replacement.length) {
    const c = replacement[i++];
    if (c === '\\') {
      if (i >= replacement.length) return fail('character to be escaped is missing (a trailing backslash)');
      lit += replacement[i++];
    } else if (c === '$') {
      if (i >= replacement.length) return fail('illegal group reference: group index is missing after $');
      if (lit) parts.push(lit);
      lit = '';
      if (replacement[i] === '{') {
        const close = replacement.indexOf('}', i);
        const name = close < 0 ? '' : replacement.slice(i + 1, close);
        if (close < 0 || !/^[A-Za-z][A-Za-z0-9]*$/.test(name)) return fail('a named group reference must look like ${name}');
        if (!names.has(name)) return fail(`no group named "${name}" in the pattern`);
        parts.push({ name });
        i = close + 1;
      } else {
        const d = replacement.charCodeAt(i) - 48;
        if (d < 0 || d > 9) return fail('illegal group reference: $ must be followed by a group number or {name} (write \\$ for a literal $)');
        let ref = d;
        i++;
        // Java takes further digits while they still name an existing group
        while (i < replacement.length) {
          const next = replacement.charCodeAt(i) - 48;
          if (next < 0 || next > 9 || ref * 10 + next > groupCount) break;
          ref = ref * 10 + next;
          i++;
        }
        if (ref > groupCount) return fail(`no group ${ref} in the pattern (it has ${groupCount})`);
        parts.push(ref);
      }
    } else {
      lit += c;
    }
  }
  if (lit) parts.push(lit);
  const global = regex.global ? regex : new RegExp(regex.source, `${regex.flags}g`);

  if (parts.every((p) => typeof p === 'string')) {
    const asJs = (parts as string[]).join('').replace(/\$/g, '$$$$');
    return { ok: true, value: (s) => s.replace(global, asJs) };
  }
  const hasNamed = names.size > 0;
  const replacer = (...args: unknown[]): string => {
    const groups = hasNamed ? (args[args.length - 1] as Record<string, string | undefined>) : undefined;
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else if (typeof p === 'number') out += (args[p] as string | undefined) ?? '';
      else out += groups?.[p.name] ?? '';
    }
    return out;
  };
  return { ok: true, value: (s) => s.replace(global, replacer) };
}

/** Java `Matcher.matches()`: the whole string must match (`^`/`$` would follow the m flag). */
export function fullMatch(regex: RegExp): RegExp {
  return new RegExp(`(?<![\\s\\S])(?:${regex.source})(?![\\s\\S])`, regex.flags.replace('g', ''));
}

/**
 * Java `String.split(regex)` for a list of names: the pieces between matches
 * (capture groups are not spliced in, unlike JS `split`), empty pieces dropped.
 */
export function splitNames(text: string, separator: RegExp): string[] {
  const global = new RegExp(separator.source, separator.flags.includes('g') ? separator.flags : `${separator.flags}g`);
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(global)) {
    if (m[0].length === 0) continue;
    out.push(text.slice(last, m.index));
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out.filter((s) => s !== '');
}
