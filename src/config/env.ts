/**
 * `${NAME}` substitution in config values, from the environment (Flume 1.10+).
 *
 * - `${NAME}` and Flume's explicit `${env:NAME}` are replaced by the variable's
 *   value; an empty value is a value. A variable that is not set is left as
 *   written and reported in `missing` (once per name, in order), so the caller
 *   can name the line and key; Flume would leave it literal, silently.
 * - A `$` not followed by `{`, a `${` without a closing `}`, and `${}` are literal.
 * - There is no escape (`$${…}` is not Flume syntax), no default (`${A:-b}`), no
 *   nesting: the name runs to the first `}`. Flume's other lookups (`${sys:…}`,
 *   `${date:…}`, bare names resolved among config properties) are not supported;
 *   such a name is looked up in the environment as written, so it shows up in
 *   `missing` instead of passing unnoticed.
 * Only values are substituted, never keys (as in Flume).
 */
export function substituteEnv(value: string, env: Record<string, string | undefined>): { value: string; missing: string[] } {
  if (value.indexOf('${') < 0) return { value, missing: [] };
  const missing: string[] = [];
  let out = '';
  let from = 0;
  for (;;) {
    const open = value.indexOf('${', from);
    if (open < 0) break;
    const close = value.indexOf('}', open + 2);
    if (close < 0) break;
    const written = value.slice(open + 2, close);
    out += value.slice(from, open);
    from = close + 1;
    const name = written.startsWith('env:') ? written.slice(4) : written;
    // typeof, not !== undefined: a plain-object env inherits `constructor` & co.
    const v = name === '' ? undefined : env[name];
    if (typeof v === 'string') {
      out += v;
    } else {
      out += value.slice(open, close + 1);
      if (name !== '' && !missing.includes(name)) missing.push(name);
    }
  }
  return { value: out + value.slice(from), missing };
}
