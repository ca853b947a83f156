/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { ComponentRates, RateView } from '../src/metrics/rates.ts';
import { componentKey, errorCount } from '../src/metrics/rates.ts';
import type { ComponentSnapshot } from '../src/metrics/snapshot.ts';
import { bar, bytes, compact, duration, fit, micros, percent, printable, rate, shortenPath, sparkline } from './format.ts';
import type { Status } from './status.ts';
import { channelStatus, fillOf, lostEvents, replaying, sinkStatus, sourceStatus } from './status.ts';

/**
 * The dashboard's panels. Each one is a pure view of the props it is given
 * (a slice of the snapshot, the rates, a size budget): no timers, no I/O.
 */

export interface PanelProps {
  title: string;
  width: number;
  focused: boolean;
  children: ReactNode;
}

/** A rounded box whose top edge carries the title; the focused one is cyan, bold and marked ▶. */
export function Panel({ title, width, focused, children }: PanelProps): ReactNode {
  const label = `${focused ? '▶ ' : ''}${title}`;
  const room = Math.max(0, width - 5);
  const shown = label.length > room ? `${label.slice(0, Math.max(0, room - 1))}…` : label;
  const top = `╭─ ${shown} ${'─'.repeat(Math.max(0, width - shown.length - 5))}╮`;
  const color = focused ? 'cyan' : 'gray';
  return (
    <Box flexDirection="column" width={width} flexShrink={0}>
      <Text color={color} bold={focused} wrap="truncate-end">{top}</Text>
      <Box borderStyle="round" borderTop={false} borderColor={color} paddingX={1} flexDirection="column" width={width}>
        {children}
      </Box>
    </Box>
  );
}

/** Column widths shared by every row of a panel, so the columns line up. */
export function columnWidths(components: readonly ComponentSnapshot[]): { nameW: number; typeW: number } {
  return {
    nameW: Math.min(14, Math.max(3, ...components.map((c) => c.name.length))),
    typeW: Math.min(8, Math.max(0, ...components.map((c) => c.type.length))),
  };
}

/** Rows a panel with `lines` content lines takes on screen (title edge + lines + bottom edge). */
export function panelHeight(lines: number): number {
  return lines + 2;
}

/** Lines one channel takes: the bar, the detail line, and the replay line while recovering. */
export function channelLines(c: ComponentSnapshot, withDetail: boolean): number {
  return 1 + (withDetail ? 1 : 0) + (replaying(c) ? 1 : 0);
}

export function ChannelRows({ channel: c, rates: r, width, withDetail, nameW, typeW }: { channel: ComponentSnapshot; rates?: ComponentRates; width: number; withDetail: boolean; nameW: number; typeW: number }): ReactNode {
  const k = c.counters;
  const st = channelStatus(c);
  const fill = fillOf(c);
  const sizeText = k.ChannelCapacity !== undefined ? `${compact(k.ChannelSize ?? 0)}/${compact(k.ChannelCapacity)}` : compact(k.ChannelSize ?? 0);
  const labelW = st.label.length;
  const barW = Math.max(6, Math.min(50, width - nameW - typeW - 6 - 13 - labelW - 6));
  const details: string[] = [];
  if (r) details.push(`in ${rate(r.perSec)}`, `out ${rate(r.outPerSec)}`);
  if (k.ChannelBytesOnDisk !== undefined) details.push(`disk ${bytes(k.ChannelBytesOnDisk)}`);
  if (k.OldestEventAgeMs !== undefined) details.push(`oldest ${k.OldestEventAgeMs > 0 ? duration(k.OldestEventAgeMs) : '—'}`);
  if (k.FsyncLatencyP50Us !== undefined || k.FsyncLatencyP99Us !== undefined) {
    const p50 = k.FsyncLatencyP50Us !== undefined ? ` p50 ${micros(k.FsyncLatencyP50Us).replace(/ms$/, k.FsyncLatencyP99Us !== undefined ? '' : 'ms')}` : '';
    details.push(`fsync${p50}${k.FsyncLatencyP99Us !== undefined ? ` p99 ${micros(k.FsyncLatencyP99Us)}` : ''}`);
  }
  const corrupt = k.CorruptRecordsSkipped ?? 0;
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{fit(c.name, nameW)}</Text> <Text dimColor>{fit(c.type, typeW)}</Text>{' '}
        <Text color={st.color}>{bar(fill, barW)}</Text> {fit(percent(fill), 5, 'right')} {fit(sizeText, 13, 'right')}{' '}
        <Text color={st.color} bold>{st.label}</Text>
      </Text>
      {withDetail && (
        <Text wrap="truncate-end" dimColor={corrupt === 0}>
          {'  '}{details.join(' · ')}{corrupt > 0 ? <Text color="yellow">{` · ⚠ ${compact(corrupt)} corrupt records skipped`}</Text> : ''}
        </Text>
      )}
      {replaying(c) && (
        <Text wrap="truncate-end" color="yellow">
          {'  '}replay {bar(k.ReplayProgressPercent ?? 0, Math.max(6, Math.min(40, width - 40)))} {percent(k.ReplayProgressPercent ?? 0)}
          {k.ReplayEventsPerSec !== undefined ? ` · ${rate(k.ReplayEventsPerSec)}` : ''} · sources wait until it ends
        </Text>
      )}
    </>
  );
}

export function flowStatus(c: ComponentSnapshot, r: ComponentRates | undefined): Status {
  return c.kind === 'SINK' ? sinkStatus(c, r) : sourceStatus(c, r);
}

/** Lines one source or sink takes: its row, plus a "why" line when it is not simply flowing or idle. */
export function flowLines(c: ComponentSnapshot, r: ComponentRates | undefined, withDetail: boolean): number {
  return 1 + (withDetail && flowStatus(c, r).detail ? 1 : 0);
}

/** The narrowest sparkline worth drawing: below it the row gives its room to a sink's lost counts or to nothing. */
const MIN_SPARK = 6;

export function FlowRows({ component: c, rates: r, width, withDetail, nameW, typeW }: { component: ComponentSnapshot; rates?: ComponentRates; width: number; withDetail: boolean; nameW: number; typeW: number }): ReactNode {
  const st = flowStatus(c, r);
  const k = c.counters;
  const total = c.kind === 'SINK' ? (k.EventDrainSuccessCount ?? 0) : (k.EventAcceptedCount ?? k.EventReceivedCount ?? 0);
  const errors = errorCount(c);
  const totalText = `total ${compact(total)}`;
  const errText = `err ${compact(errors)}`;
  // events a sink's policy gave up on (dropped) or set aside (its dead-letter dir): committed, so not in "err",
  // and not delivered, so not in "total". On the row when it has room for them and a sparkline; the status's
  // detail line says them too (sinkStatus)
  const lost = lostEvents(c);
  const lostText = (lost.dropped > 0 ? ` dropped ${compact(lost.dropped)}` : '') + (lost.deadLettered > 0 ? ` dlq ${compact(lost.deadLettered)}` : '');
  const room = width - nameW - typeW - 9 - 8 - 11 - errText.length - 7;
  // without detail lines (a short terminal) the row is the only place left for them, sparkline or not
  const lostShown = lostText.length > 0 && (room - lostText.length >= MIN_SPARK || !withDetail);
  const sparkW = Math.max(0, Math.min(60, room - (lostShown ? lostText.length : 0)));
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{fit(c.name, nameW)}</Text> <Text dimColor>{fit(c.type, typeW)}</Text>{' '}
        <Text color={st.color} bold>{fit(st.label, 9)}</Text> {fit(r ? rate(r.perSec) : '…', 8, 'right')}{' '}
        <Text color={st.color}>{sparkline(r?.history ?? [], sparkW)}</Text> {fit(totalText, 11)}{' '}
        <Text color={errors > 0 ? 'red' : undefined} dimColor={errors === 0}>{errText}</Text>
        {lostShown && <Text color={lost.dropped > 0 ? 'red' : 'yellow'}>{lostText}</Text>}
      </Text>
      {withDetail && st.detail && (
        <Text wrap="truncate-end" color={st.color}>{`  ↳ ${printable(st.detail)}`}</Text>
      )}
    </>
  );
}

export interface TailedFile {
  source: string;
  path: string;
  lag: number;
  offset?: number;
  size?: number;
}

/** Every taildir file the snapshot mentions, most behind first. */
export function tailedFiles(components: readonly ComponentSnapshot[]): TailedFile[] {
  const out: TailedFile[] = [];
  for (const c of components) {
    const files = c.details?.files;
    if (c.kind !== 'SOURCE' || !Array.isArray(files)) continue;
    for (const f of files as Record<string, unknown>[]) {
      if (typeof f?.path !== 'string') continue;
      const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
      const offset = num(f.offset);
      const size = num(f.size);
      const lag = num(f.lag) ?? (offset !== undefined && size !== undefined ? Math.max(0, size - offset) : 0);
      out.push({ source: c.name, path: f.path, lag, offset, size });
    }
  }
  return out.sort((a, b) => b.lag - a.lag || a.path.localeCompare(b.path));
}

export function FileRows({ files, limit, width, showSource }: { files: readonly TailedFile[]; limit: number; width: number; showSource: boolean }): ReactNode {
  const shown = files.slice(0, limit);
  const pathW = Math.max(10, width - 40);
  return (
    <>
      {shown.map((f) => (
        <Text key={`${f.source}:${f.path}`} wrap="truncate-end">
          {fit(shortenPath(printable(showSource ? `${f.source}:${f.path}` : f.path), pathW), pathW)}{' '}
          <Text color={f.lag > 0 ? 'yellow' : 'green'}>{fit(`lag ${bytes(f.lag)}`, 13, 'right')}</Text>
          <Text dimColor>{f.offset !== undefined ? ` at ${fit(bytes(f.offset), 9, 'right')}` : ''}{f.size !== undefined ? ` of ${bytes(f.size)}` : ''}</Text>
        </Text>
      ))}
      {shown.length === 0 && <Text dimColor>(no files tailed yet)</Text>}
    </>
  );
}

export function EventRows({ events, limit, width }: { events: readonly string[]; limit: number; width: number }): ReactNode {
  const shown = limit > 0 ? events.slice(-limit) : [];
  return (
    <>
      {shown.map((line, i) => (
        // Cut before Ink measures it: a 16 KiB log line would otherwise be measured and tokenised every frame.
        // Control characters become · so a stray escape sequence cannot move the cursor.
        <Text key={i} wrap="truncate-end" dimColor>{printable(line.slice(0, width + 1))}</Text>
      ))}
      {shown.length === 0 && <Text dimColor>(no events yet)</Text>}
    </>
  );
}

export function ratesOf(rates: RateView, c: ComponentSnapshot): ComponentRates | undefined {
  return rates[componentKey(c)];
}
