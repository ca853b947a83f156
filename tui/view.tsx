/** @jsxRuntime automatic */
/** @jsxImportSource react */
import { Box, Text, useInput, useStdin, useStdout } from 'ink';
import type { ReactNode } from 'react';
import { useEffect, useState } from 'react';
import type { RateView } from '../src/metrics/rates.ts';
import type { AgentSnapshot, ComponentSnapshot } from '../src/metrics/snapshot.ts';
import { duration } from './format.ts';
import { channelLines, ChannelRows, columnWidths, EventRows, FileRows, flowLines, FlowRows, Panel, panelHeight, ratesOf, tailedFiles } from './panels.tsx';

/**
 * The dashboard's views. `Dashboard` is a pure view of one snapshot, its
 * rates and a terminal size; `DashboardApp` adds keys, focus and the
 * terminal's size. Neither polls or touches the agent, a socket or a file:
 * runDashboard (dashboard.tsx) feeds them.
 */

export type PanelId = 'channels' | 'sources' | 'sinks' | 'files' | 'events';

export interface DashboardProps {
  title: string;
  snapshot?: AgentSnapshot;
  rates: RateView;
  /** lines for the recent-events pane; the pane is absent when undefined */
  recentEvents?: readonly string[];
  /** shown in red under the header (e.g. the agent is unreachable); the last snapshot stays on screen */
  error?: string;
  columns: number;
  rows: number;
  focus?: PanelId;
  /** epoch ms; with an error, says how old the data on screen is */
  now?: number;
}

/** The panels present for this snapshot, in screen (and focus) order. */
export function panelsOf(snapshot: AgentSnapshot | undefined, hasEvents: boolean): PanelId[] {
  const ids: PanelId[] = ['channels', 'sources', 'sinks'];
  if (snapshot && tailedFiles(snapshot.components).length > 0) ids.push('files');
  if (hasEvents) ids.push('events');
  return ids;
}

/** Wider than this, files and recent events sit side by side. */
const WIDE = 120;

export function Dashboard(props: DashboardProps): ReactNode {
  const { snapshot: s, rates, columns, rows, focus = 'channels' } = props;
  const width = Math.max(40, columns);
  const inner = width - 4;
  const header = (
    <Box width={width} justifyContent="space-between">
      <Text bold wrap="truncate-end">
        {props.title}
        {/* startedAt is 0 until the agent has started (a start that failed never sets it): no uptime from 1970 */}
        <Text dimColor>{s && s.startedAt > 0 ? ` · up ${duration(Math.max(0, s.at - s.startedAt))}` : ''}</Text>
      </Text>
      <Text dimColor>{width >= 70 ? 'q quit · tab/←→ focus' : 'q quit'}</Text>
    </Box>
  );
  const errorLine = props.error ? (
    <Text color="red" wrap="truncate-end">
      {/* The age first: a long error is cut at the right edge, and the age says how far to trust the screen. */}
      {`✖ ${s && props.now !== undefined ? `data ${duration(Math.max(0, props.now - s.at))} old · ` : ''}${props.error}`}
    </Text>
  ) : null;
  if (!s) {
    return (
      <Box flexDirection="column" width={width}>
        {header}
        {errorLine}
        {!props.error && <Text dimColor>waiting for the first snapshot…</Text>}
      </Box>
    );
  }

  const of = (kind: ComponentSnapshot['kind']): ComponentSnapshot[] => s.components.filter((c) => c.kind === kind);
  const channels = of('CHANNEL');
  const sources = of('SOURCE');
  const sinks = of('SINK');
  const files = tailedFiles(s.components);
  const hasEvents = props.recentEvents !== undefined;
  const flowCols = columnWidths([...sources, ...sinks]);
  const channelCols = columnWidths(channels);

  // Row budget: header (+ error) and the fixed panels first; files and events share what is left.
  // One row stays free so the frame never reaches the bottom edge and scrolls the terminal.
  const budget = Math.max(10, rows) - 1 - (errorLine ? 2 : 1);
  let withDetail = true;
  const fixedHeight = (detail: boolean): number =>
    panelHeight(Math.max(1, channels.reduce((n, c) => n + channelLines(c, detail), 0)))
    + panelHeight(Math.max(1, sources.reduce((n, c) => n + flowLines(c, ratesOf(rates, c), detail), 0)))
    + panelHeight(Math.max(1, sinks.reduce((n, c) => n + flowLines(c, ratesOf(rates, c), detail), 0)));
  if (fixedHeight(true) > budget) withDetail = false;
  let left = budget - fixedHeight(withDetail);

  const wide = width >= WIDE && files.length > 0 && hasEvents;
  let fileLimit = 0;
  let eventLimit = 0;
  if (wide) {
    fileLimit = Math.min(files.length, Math.max(0, left - 2));
    eventLimit = Math.max(0, left - 2);
  } else {
    const want = [files.length > 0 ? files.length : 0, hasEvents ? Number.MAX_SAFE_INTEGER : 0];
    const panels = want.filter((w) => w > 0).length;
    if (panels === 2 && left >= 6) {
      // The focused one of the two gets the larger share; files never take more rows than they have.
      const filesShare = focus === 'files' ? Math.ceil((left - 4) * 0.65) : Math.floor((left - 4) * 0.4);
      fileLimit = Math.max(1, Math.min(files.length, filesShare));
      eventLimit = Math.max(1, left - 4 - fileLimit);
    } else if (panels >= 1 && left >= 3) {
      // Room for one only: the focused one, else files.
      if (files.length > 0 && (focus === 'files' || !hasEvents || left < 6)) fileLimit = Math.min(files.length, left - 2);
      else eventLimit = left - 2;
    }
    left -= (fileLimit ? panelHeight(fileLimit) : 0) + (eventLimit ? panelHeight(eventLimit) : 0);
  }

  const sideW = wide ? Math.floor(width / 2) : width;
  const filesPanel = fileLimit > 0 && (
    <Panel title={`Files · ${files.length} tailed${files.length > fileLimit ? `, top ${fileLimit} by lag` : ''}`} width={sideW} focused={focus === 'files'}>
      <FileRows files={files} limit={fileLimit} width={sideW - 4} showSource={sources.filter((c) => Array.isArray(c.details?.files)).length > 1} />
    </Panel>
  );
  const eventsPanel = eventLimit > 0 && (
    <Panel title="Recent events" width={wide ? width - sideW : width} focused={focus === 'events'}>
      <EventRows events={props.recentEvents ?? []} limit={eventLimit} width={(wide ? width - sideW : width) - 4} />
    </Panel>
  );

  return (
    <Box flexDirection="column" width={width}>
      {header}
      {errorLine}
      <Panel title={`Channels · ${channels.length}`} width={width} focused={focus === 'channels'}>
        {channels.map((c) => <ChannelRows key={c.name} channel={c} rates={ratesOf(rates, c)} width={inner} withDetail={withDetail} {...channelCols} />)}
        {channels.length === 0 && <Text dimColor>(none)</Text>}
      </Panel>
      <Panel title={`Sources · ${sources.length} · events/s, last minute`} width={width} focused={focus === 'sources'}>
        {sources.map((c) => <FlowRows key={c.name} component={c} rates={ratesOf(rates, c)} width={inner} withDetail={withDetail} {...flowCols} />)}
        {sources.length === 0 && <Text dimColor>(none)</Text>}
      </Panel>
      <Panel title={`Sinks · ${sinks.length} · events/s, last minute`} width={width} focused={focus === 'sinks'}>
        {sinks.map((c) => <FlowRows key={c.name} component={c} rates={ratesOf(rates, c)} width={inner} withDetail={withDetail} {...flowCols} />)}
        {sinks.length === 0 && <Text dimColor>(none)</Text>}
      </Panel>
      {wide ? (
        <Box flexDirection="row" width={width}>
          {filesPanel}
          {eventsPanel}
        </Box>
      ) : (
        <>
          {filesPanel}
          {eventsPanel}
        </>
      )}
    </Box>
  );
}

export interface DashboardAppProps extends Omit<DashboardProps, 'columns' | 'rows' | 'focus'> {
  onQuit: () => void;
  /** fixed size (tests); otherwise the terminal's, following resizes */
  columns?: number;
  rows?: number;
}

/** Dashboard plus what a terminal adds: its size, the keys, and which panel has focus. */
export function DashboardApp(props: DashboardAppProps): ReactNode {
  const { stdout } = useStdout();
  const { isRawModeSupported } = useStdin();
  const [size, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [focus, setFocus] = useState<PanelId>('channels');
  useEffect(() => {
    const onResize = (): void => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);

  const panels = panelsOf(props.snapshot, props.recentEvents !== undefined);
  const current = panels.includes(focus) ? focus : panels[0];
  useInput(
    (input, key) => {
      if (input === 'q' || input === 'Q' || (key.ctrl && input === 'c')) {
        props.onQuit();
        return;
      }
      const step = key.tab ? (key.shift ? -1 : 1) : key.rightArrow || key.downArrow ? 1 : key.leftArrow || key.upArrow ? -1 : 0;
      if (step) {
        setFocus((prev) => {
          const at = Math.max(0, panels.indexOf(prev));
          return panels[(at + step + panels.length) % panels.length];
        });
      }
    },
    { isActive: isRawModeSupported === true },
  );
  return (
    <Dashboard
      {...props}
      columns={props.columns ?? size.columns}
      rows={props.rows ?? size.rows}
      focus={current}
    />
  );
}

