// Top functions by self time from a V8 .cpuprofile (node --cpu-prof).
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface SelfTime { fn: string; where: string; ms: number; pct: number }

export function topSelfTime(path: string, limit = 15): { totalMs: number; top: SelfTime[] } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    if (!n) continue;
    total += dt;
    const cf = n.callFrame;
    const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '(native)';
    const key = `${cf.functionName}@${where}`;
    const e = self.get(key) ?? { fn: cf.functionName || '(anonymous)', where, us: 0 };
    e.us += dt;
    self.set(key, e);
  }
  const top = [...self.values()].sort((a, b) => b.us - a.us).slice(0, limit)
    .map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, pct: total ? (e.us / total) * 100 : 0 }));
  return { totalMs: total / 1000, top };
}
