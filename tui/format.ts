/**
 * Text helpers for the dashboard: compact numbers, durations, bars and
 * sparklines. Pure functions of their inputs, so frames are predictable.
 */

/** 950 → "950", 1234 → "1.2k", 1_234_567 → "1.23M". */
export function compact(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(abs < 10 ? 1 : 0);
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, unit] of units) {
    if (abs >= size) {
      const v = n / size;
      return `${Math.abs(v) < 10 ? v.toFixed(2) : Math.abs(v) < 100 ? v.toFixed(1) : v.toFixed(0)}${unit}`;
    }
  }
  return String(n);
}

/** events/s, with one decimal below 10 so a trickle is not shown as 0. */
export function rate(perSec: number): string {
  if (perSec > 0 && perSec < 10) return `${perSec.toFixed(1)}/s`;
  return `${compact(Math.round(perSec))}/s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

/** 850 → "850ms", 3200 → "3.2s", 125_000 → "2m05s", 7_500_000 → "2h05m". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Microseconds as ms with a sensible precision: 820 → "0.82ms", 4100 → "4.1ms". */
export function micros(us: number): string {
  const ms = us / 1000;
  return `${ms < 1 ? ms.toFixed(2) : ms < 10 ? ms.toFixed(1) : Math.round(ms)}ms`;
}

/** A fill bar `width` cells wide: filled cells, then empty ones. Never overflows. */
export function bar(percent: number, width: number): string {
  const p = Number.isFinite(percent) ? Math.min(100, Math.max(0, percent)) : 100;
  const full = Math.round((p / 100) * width);
  return '█'.repeat(full) + '░'.repeat(Math.max(0, width - full));
}

export function percent(p: number): string {
  if (!Number.isFinite(p) || p > 1000) return '—%';
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
}

const TICKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * The last `width` values as a sparkline, scaled to their maximum. Zero is the
 * lowest tick and anything above zero at least the second, so a trickle shows.
 * Left-padded with spaces while there is less history than width.
 */
export function sparkline(values: readonly number[], width: number): string {
  if (width <= 0) return '';
  const tail = values.slice(-width);
  const max = Math.max(0, ...tail);
  const cells = tail.map((v) => (v <= 0 || max === 0 ? TICKS[0] : TICKS[Math.max(1, Math.round((v / max) * (TICKS.length - 1)))]));
  return ' '.repeat(width - cells.length) + cells.join('');
}

/** Keeps the end of a path (the file name matters most): "/var/log/…/app.log". */
export function shortenPath(path: string, width: number): string {
  if (path.length <= width) return path;
  if (width <= 1) return '…'.slice(0, width);
  return `…${path.slice(path.length - width + 1)}`;
}

/** Pads or cuts to exactly `width` characters. */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (s.length > width) return width > 1 ? `${s.slice(0, width - 1)}…` : s.slice(0, width);
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

/** Control characters (newlines, escapes) as ·, so text from outside cannot break a row or move the cursor. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '·');
}
