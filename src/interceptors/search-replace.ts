import { Buffer } from 'node:buffer';
import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { compileJavaRegex, compileJavaReplacement } from './java-regex.ts';

export interface SearchReplaceOptions {
  searchPattern: string;
  replaceString: string;
  /** Canonical Java charset name. */
  charset: string;
  /** body text → body text with every match replaced (Java `replaceAll`). */
  replace: (text: string) => string;
}

interface Codec {
  decode(body: Uint8Array): string;
  encode(text: string): Uint8Array;
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** The charsets supported, by Java name (matched case-insensitively, with Java's common aliases). */
const CODECS: Record<string, { aliases: string[]; codec: Codec }> = {
  'UTF-8': {
    aliases: ['utf8'],
    codec: { decode: (b) => utf8Decoder.decode(b), encode: (s) => utf8Encoder.encode(s) },
  },
  'ISO-8859-1': {
    aliases: ['latin1', 'iso8859_1', 'iso8859-1', 'iso-latin-1', 'l1'],
    codec: {
      decode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1'),
      // Java writes '?' for a char it cannot encode (a surrogate pair is one char)
      encode: (s) => copy(Buffer.from(s.replace(/[\ud800-\udbff][\udc00-\udfff]|[^\x00-\xff]/g, '?'), 'latin1')),
    },
  },
  'UTF-16LE': {
    aliases: ['utf_16le', 'unicodelittleunmarked'],
    codec: {
      decode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf16le'),
      encode: (s) => copy(Buffer.from(s, 'utf16le')),
    },
  },
};

/** A Uint8Array of its own (Buffer.from may hand out a slice of a shared pool). */
function copy(b: Buffer): Uint8Array {
  return new Uint8Array(b);
}

function findCharset(name: string): string | undefined {
  const n = name.trim().toLowerCase();
  for (const [java, { aliases }] of Object.entries(CODECS)) {
    if (java.toLowerCase() === n || aliases.includes(n)) return java;
  }
  return undefined;
}

/**
 * Flume's `search_replace` interceptor: Java `replaceAll(searchPattern,
 * replaceString)` on the body decoded with `charset` (UTF-8), encoded back with
 * it. `$1`/`${name}` refer to groups, `\$` is a literal `$`. A missing
 * `replaceString` replaces with nothing. An event whose body does not change
 * is passed through as it is.
 */
export const searchReplaceInterceptorSpec: InterceptorSpec<SearchReplaceOptions> = {
  type: 'search_replace',
  keys: 'searchPattern, replaceString, charset',
  parse(ctx: ComponentContext): SearchReplaceOptions {
    const searchPattern = ctx.requiredString('searchPattern', 'a regular expression (Java syntax) to search event bodies for');
    const replaceString = ctx.string('replaceString', '');
    const charsetName = ctx.string('charset', 'UTF-8');
    let charset = findCharset(charsetName);
    if (!charset) {
      ctx.error('charset', `"${charsetName}"`, `one of ${Object.keys(CODECS).join(', ')}`);
      charset = 'UTF-8';
    }
    let replace = (text: string) => text;
    if (searchPattern !== '') {
      const re = compileJavaRegex(searchPattern, 'g');
      if (!re.ok) {
        ctx.error('searchPattern', re.error, 'a regular expression (Java syntax)');
      } else {
        const r = compileJavaReplacement(replaceString, re.value);
        if (r.ok) replace = r.value;
        else ctx.error('replaceString', r.error, 'a Java replacement string ($1 or ${name} for groups, \\$ for a literal $)');
      }
    }
    return { searchPattern, replaceString, charset, replace };
  },
  create(opts: SearchReplaceOptions): Interceptor {
    const { codec } = CODECS[opts.charset];
    const replace = opts.replace;
    return {
      intercept(events: FlumeEvent[]): FlumeEvent[] {
        const out = new Array<FlumeEvent>(events.length);
        for (let i = 0; i < events.length; i++) {
          const e = events[i];
          const text = codec.decode(e.body);
          const next = replace(text);
          out[i] = next === text ? e : { headers: e.headers, body: codec.encode(next) };
        }
        return out;
      },
    };
  },
};
