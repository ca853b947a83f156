import type { AgentConfig } from '../config/agent-config.ts';

/** The config as a user reads it: each source → its channels, each channel → its sinks. */
export function formatTopology(cfg: AgentConfig): string {
  const lines = [`agent ${cfg.agent} (${cfg.file})`];
  for (const s of cfg.sources) {
    const sel = s.selector.type === 'replicating' ? '' : ` [${s.selector.type} selector]`;
    const ic = s.interceptors.length ? ` [interceptors: ${s.interceptors.map((i) => `${i.name}(${i.spec.type})`).join(', ')}]` : '';
    lines.push(`  source ${s.name} (${s.spec.type})${ic}${sel} → ${s.channels.map((c) => `channel ${c}`).join(', ')}`);
  }
  for (const c of cfg.channels) {
    const sinks = cfg.sinks.filter((k) => k.channel === c.name);
    lines.push(`  channel ${c.name} (${c.spec.type}) → ${sinks.length ? sinks.map((k) => `sink ${k.name} (${k.spec.type})`).join(', ') : '(no sinks)'}`);
  }
  for (const g of cfg.sinkGroups) {
    lines.push(`  sinkgroup ${g.name} (${g.processor.type}) over ${g.members.map((m) => `sink ${m}`).join(', ')}`);
  }
  if (cfg.monitoring) lines.push(`  monitoring: ${cfg.monitoring.type} on port ${cfg.monitoring.port}`);
  return lines.join('\n');
}
