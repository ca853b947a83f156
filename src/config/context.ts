import type { Problems } from './problems.ts';

/** One property as written in the file: its value (after `${VAR}` substitution) and its line. */
export interface Entry {
  value: string;
  line: number;
  /** A `${VAR}` in the value was not set: already reported, so readers use their default quietly. */
  unresolved?: boolean;
}

/**
 * The keys of one component (with the `<agent>.<kind>.<name>.` prefix removed)
 * and typed readers over them. A component parses its own keys into its own
 * options object; readers record problems instead of throwing, so `check`
 * reports every problem at once. Keys never read are reported as unknown
 * (warnings) by `reportUnknown`.
 */
export class ComponentContext {
  private readonly used = new Set<string>();

  constructor(
    /** e.g. `agent.sources.r1` — the prefix the keys had, for messages. */
    readonly prefix: string,
    readonly entries: ReadonlyMap<string, Entry>,
    readonly problems: Problems,
    /** Line of the component's `type` key (or of its listing), for problems about the whole component. */
    readonly line: number,
  ) {}

  fullKey(key: string): string {
    return `${this.prefix}.${key}`;
  }

  has(key: string): boolean {
    this.used.add(key);
    return this.entries.has(key);
  }

  entry(key: string): Entry | undefined {
    this.used.add(key);
    const e = this.entries.get(key);
    return e?.unresolved ? undefined : e;
  }

  lineOf(key: string): number {
    return this.entries.get(key)?.line ?? this.line;
  }

  error(key: string, found: string, expected: string): void {
    this.problems.error(this.lineOf(key), this.fullKey(key), found, expected);
  }

  warning(key: string, found: string, expected: string): void {
    this.problems.warning(this.lineOf(key), this.fullKey(key), found, expected);
  }

  string(key: string, dflt: string): string {
    return this.entry(key)?.value ?? dflt;
  }

  optionalString(key: string): string | undefined {
    return this.entry(key)?.value;
  }

  requiredString(key: string, expected = 'a value'): string {
    const e = this.entry(key);
    if (this.entries.get(key)?.unresolved) return '';
    if (e === undefined || e.value === '') {
      this.problems.error(this.line, this.fullKey(key), 'missing', expected);
      return '';
    }
    return e.value;
  }

  int(key: string, dflt: number, opts: { min?: number; max?: number } = {}): number {
    const e = this.entry(key);
    if (!e) return dflt;
    const v = e.value.trim();
    if (!/^-?\d+$/.test(v)) {
      this.error(key, `"${e.value}"`, `an integer${rangeText(opts)}`);
      return dflt;
    }
    const n = Number(v);
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
      this.error(key, String(n), `an integer${rangeText(opts)}`);
      return dflt;
    }
    return n;
  }

  /** Java's Boolean.parseBoolean is lenient (anything but "true" is false); we are strict and say so. */
  bool(key: string, dflt: boolean): boolean {
    const e = this.entry(key);
    if (!e) return dflt;
    const v = e.value.trim().toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
    this.error(key, `"${e.value}"`, 'true or false');
    return dflt;
  }

  oneOf<T extends string>(key: string, dflt: T, allowed: readonly T[]): T {
    const e = this.entry(key);
    if (!e) return dflt;
    const v = e.value.trim();
    const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
    if (!hit) {
      this.error(key, `"${e.value}"`, `one of ${allowed.join(', ')}`);
      return dflt;
    }
    return hit;
  }

  /** A whitespace-separated list (Flume's list syntax). */
  list(key: string): string[] {
    const e = this.entry(key);
    return e ? e.value.split(/\s+/).filter(Boolean) : [];
  }

  /** Keys under `prefix.` (marked used), with the prefix removed: `headers.Authorization` → `Authorization`. */
  sub(prefix: string): Map<string, Entry> {
    const out = new Map<string, Entry>();
    const p = `${prefix}.`;
    for (const [k, v] of this.entries) {
      if (k.startsWith(p)) {
        this.used.add(k);
        out.set(k.slice(p.length), v);
      }
    }
    return out;
  }

  /** A context over the keys under `prefix.` (used for interceptors, selector …). */
  child(prefix: string, line?: number): ComponentContext {
    const entries = this.sub(prefix);
    return new ComponentContext(this.fullKey(prefix), entries, this.problems, line ?? this.line);
  }

  /** Mark keys handled elsewhere (by the config layer) as used. */
  markUsed(...keys: string[]): void {
    for (const k of keys) this.used.add(k);
  }

  reportUnknown(known: string): void {
    for (const [k, e] of this.entries) {
      if (!this.used.has(k)) {
        this.problems.warning(e.line, this.fullKey(k), 'unknown key (ignored)', known);
      }
    }
  }
}

function rangeText(o: { min?: number; max?: number }): string {
  if (o.min !== undefined && o.max !== undefined) return ` from ${o.min} to ${o.max}`;
  if (o.min !== undefined) return ` >= ${o.min}`;
  if (o.max !== undefined) return ` <= ${o.max}`;
  return '';
}
