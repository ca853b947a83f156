import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { compileJavaRegex } from './java-regex.ts';
import { compileJodaPattern } from './joda-time.ts';

export interface RegexExtractorOptions {
  regex: RegExp;
  /** Serializer i writes group i+1. */
  serializers: { header: string; serialize: (group: string) => string | undefined }[];
}

const PASS_THROUGH = 'org.apache.flume.interceptor.regexextractorinterceptorpassthroughserializer';
const MILLIS = 'org.apache.flume.interceptor.regexextractorinterceptormillisserializer';

const utf8 = new TextDecoder();

/**
 * Flume's `regex_extractor` interceptor: the first match of `regex` in the body
 * (UTF-8) puts group i into the header of serializer i (`serializers = s1 s2`,
 * `serializers.s1.name = header`); groups beyond the serializers are ignored.
 * `serializers.s1.type` is `default` (the text as is) or Flume's
 * `…RegexExtractorInterceptorMillisSerializer` with a Joda `pattern`, giving
 * epoch millis. Where Flume would put a null header (a group that did not
 * take part in the match) or throw (a date that does not parse), the header is
 * left out instead; the latter is counted in `unparsedValues`.
 */
export const regexExtractorInterceptorSpec: InterceptorSpec<RegexExtractorOptions> = {
  type: 'regex_extractor',
  keys: 'regex, serializers, serializers.<s>.name, serializers.<s>.type, serializers.<s>.pattern',
  parse(ctx: ComponentContext): RegexExtractorOptions {
    const source = ctx.requiredString('regex', 'a regular expression (Java syntax) with groups to extract');
    let regex = /(?:)/u;
    if (source !== '') {
      const re = compileJavaRegex(source);
      if (re.ok) regex = re.value;
      else ctx.error('regex', re.error, 'a regular expression (Java syntax)');
    }
    const names = ctx.list('serializers');
    if (names.length === 0) ctx.requiredString('serializers', 'a list of serializer names, one per regex group');
    const serializers: RegexExtractorOptions['serializers'] = [];
    for (const s of names) {
      const header = ctx.requiredString(`serializers.${s}.name`, `the header that serializer ${s} writes`);
      const type = ctx.string(`serializers.${s}.type`, 'DEFAULT').trim();
      const t = type.toLowerCase();
      if (t === 'default' || t === PASS_THROUGH) {
        serializers.push({ header, serialize: (g) => g });
      } else if (t === MILLIS) {
        const pattern = ctx.requiredString(`serializers.${s}.pattern`, 'a Joda-Time date pattern, e.g. yyyy-MM-dd HH:mm');
        const parse = pattern === '' ? undefined : compileJodaPattern(pattern);
        if (parse && !parse.ok) ctx.error(`serializers.${s}.pattern`, parse.error, 'a Joda-Time date pattern');
        const toMillis = parse?.ok ? parse.value : () => undefined;
        serializers.push({
          header,
          serialize: (g) => {
            const ms = toMillis(g);
            return ms === undefined ? undefined : String(ms);
          },
        });
      } else {
        ctx.error(`serializers.${s}.type`, `"${type}"`, 'default or org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer');
      }
    }
    return { regex, serializers };
  },
  create(opts: RegexExtractorOptions): Interceptor & { readonly unparsedValues: number } {
    const { regex, serializers } = opts;
    const self = {
      unparsedValues: 0,
      intercept(events: FlumeEvent[]): FlumeEvent[] {
        const out = new Array<FlumeEvent>(events.length);
        for (let i = 0; i < events.length; i++) {
          const e = events[i];
          const m = regex.exec(utf8.decode(e.body));
          if (!m) {
            out[i] = e;
            continue;
          }
          let headers: Record<string, string> | undefined;
          const n = Math.min(m.length - 1, serializers.length);
          for (let g = 0; g < n; g++) {
            const text = m[g + 1];
            if (text === undefined) continue;
            const value = serializers[g].serialize(text);
            if (value === undefined) {
              self.unparsedValues++;
              continue;
            }
            headers ??= Object.assign({}, e.headers);
            headers[serializers[g].header] = value;
          }
          out[i] = headers ? { headers, body: e.body } : e;
        }
        return out;
      },
    };
    return self;
  },
};
