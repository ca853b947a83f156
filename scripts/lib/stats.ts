/** Percentile of an unsorted sample (nearest rank); NaN when empty. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function sortedCopy(xs: ArrayLike<number>, n = xs.length): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = xs[i];
  return a.sort();
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
