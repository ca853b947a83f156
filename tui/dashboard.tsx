/** @jsxRuntime automatic */
/** @jsxImportSource react */
// First, before anything that loads React: see react-production.ts. This file
// has no JSX on purpose, so no jsx-runtime import is hoisted above this line.
import './react-production.ts';
import { render } from 'ink';
import type { ReactNode } from 'react';
import { createElement } from 'react';
import type { RateView } from '../src/metrics/rates.ts';
import { RateTracker } from '../src/metrics/rates.ts';
import type { AgentSnapshot } from '../src/metrics/snapshot.ts';
import { DashboardApp } from './view.tsx';

export { Dashboard, DashboardApp, panelsOf } from './view.tsx';
export type { DashboardAppProps, DashboardProps, PanelId } from './view.tsx';

/**
 * The dashboard's entry point: `runDashboard` owns the poll loop and feeds
 * the views (view.tsx) one snapshot and its rates per refresh. `poll` and
 * `recentEvents` are handed in by the caller (`--tui` passes agent.snapshot,
 * `top` passes an HTTP fetch), so nothing here knows where data comes from.
 * Load it lazily (`await import()`): the agent without --tui never loads React.
 */

export interface RunDashboardOptions {
  title: string;
  /** one snapshot per call; a throw (or rejection) is shown as an error line and polling goes on */
  poll: () => Promise<AgentSnapshot> | AgentSnapshot;
  recentEvents?: () => readonly string[];
  /** default 1000 */
  intervalMs?: number;
  /** `q` (or Ctrl-C) was pressed; the dashboard has already left the screen */
  onQuit: () => void | Promise<void>;
  /** where to draw and read keys; default the process's own terminal */
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

export interface DashboardHandle {
  /** Leaves the screen and stops polling; safe to call more than once. */
  unmount(): void;
  /**
   * Polls once more, draws that frame, then leaves: the last frame on screen is the agent as it ended (a start
   * that failed reads FAILED, not the REPLAYING of a second before).
   */
  finish(): Promise<void>;
  /** Resolves once the dashboard is gone and onQuit (if it ran) has finished. */
  waitUntilExit(): Promise<void>;
}

/** How long after the last resize event the screen is cleared and redrawn: past Ink's own throttled redraw (10 fps). */
const RESIZE_SETTLE_MS = 150;

export function runDashboard(opts: RunDashboardOptions): DashboardHandle {
  const intervalMs = opts.intervalMs ?? 1000;
  const tracker = new RateTracker();
  let snapshot: AgentSnapshot | undefined;
  let rates: RateView = {};
  let error: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let gone = false;
  let quitting: Promise<void> = Promise.resolve();

  const quit = (): void => {
    if (gone) return;
    stop();
    quitting = Promise.resolve().then(opts.onQuit).then(() => undefined);
  };
  const element = (): ReactNode =>
    createElement(DashboardApp, {
      title: opts.title,
      snapshot,
      rates,
      recentEvents: opts.recentEvents?.(),
      error,
      now: Date.now(),
      onQuit: quit,
    });
  // Ink redraws by moving the cursor up over its last frame. When the terminal narrows, the lines of the frames
  // already drawn wrap, the cursor lands short of their top, and Ink's (throttled) redraw leaves parts of the wider
  // frames above the new one. Once the resizing settles (and Ink's own redraw is out), the visible screen is
  // cleared and the frame drawn again from its top.
  const out = opts.stdout ?? process.stdout;
  let settle: NodeJS.Timeout | undefined;
  const redrawClean = (): void => {
    settle = undefined;
    if (gone) return;
    out.write('\u001b[2J\u001b[H');
    // Ink writes a frame only when it differs from its last one: an empty one in between makes it draw the
    // same frame again, from the top
    instance.clear();
    instance.rerender(null);
    instance.rerender(element());
  };
  const onResize = (): void => {
    if (settle) clearTimeout(settle);
    settle = setTimeout(redrawClean, RESIZE_SETTLE_MS);
  };
  out.on('resize', onResize);
  // Ctrl-C is a key like q here, so --tui can stop the agent cleanly instead of dying mid-batch.
  const instance = render(element(), {
    exitOnCtrlC: false,
    maxFps: 10,
    ...(opts.stdout ? { stdout: opts.stdout } : {}),
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
  });
  const exited = instance.waitUntilExit().then(() => undefined, () => undefined);

  function stop(): void {
    if (gone) return;
    gone = true;
    if (timer) clearTimeout(timer);
    out.off('resize', onResize);
    if (settle) clearTimeout(settle);
    instance.unmount();
  }

  const poll = async (): Promise<void> => {
    try {
      const s = await opts.poll();
      snapshot = s;
      rates = tracker.update(s);
      error = undefined;
    } catch (err) {
      error = (err as Error)?.message ?? String(err);
    }
  };
  /** One poll and the frame it makes; false once the dashboard is gone. */
  const draw = async (): Promise<boolean> => {
    await poll();
    if (gone) return false;
    instance.rerender(element());
    return true;
  };
  const tick = async (): Promise<void> => {
    if (!(await draw())) return;
    // Scheduled after the poll settles, so a slow agent never gets overlapping polls.
    timer = setTimeout(() => void tick(), intervalMs);
  };
  void tick();

  return {
    unmount: stop,
    finish: async () => {
      if (gone) return;
      if (timer) clearTimeout(timer);
      if (await draw()) stop();
    },
    waitUntilExit: async () => {
      await exited;
      await quitting;
    },
  };
}
