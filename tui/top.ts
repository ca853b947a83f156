import { FlumeError } from '../src/core/errors.ts';
import { fromFlumeJson } from '../src/metrics/flume-json.ts';
import type { AgentSnapshot } from '../src/metrics/snapshot.ts';
import { runDashboard } from './dashboard.tsx';

/**
 * `flume-tail top`: the dashboard attached to a running agent's metrics
 * endpoint, as `vector top` does. It reads `/snapshot` (flume-tail's own,
 * with per-file lag and backoff state) and falls back to `/metrics` (Flume's
 * JSON) when that is 404, so it can watch a real Flume agent too. An
 * unreachable agent is an error line on screen, retried every interval.
 */
export interface TopOptions {
  url: string;
  intervalMs?: number;
}

export class TopFetchError extends FlumeError {
  constructor(readonly url: string, message: string, options?: { cause?: unknown }) {
    super('TOP_UNREACHABLE', message, options);
  }
}

/** Makes the poll function: remembers whether the agent has /snapshot so a Flume agent is not asked twice a second. */
export function snapshotPoller(url: string, timeoutMs = 2000): () => Promise<AgentSnapshot> {
  const base = url.replace(/\/+$/, '');
  let flumeOnly = false;
  const get = async (path: string): Promise<Response> => {
    try {
      return await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      const why = cause?.code ?? ((err as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (err as Error).message);
      throw new TopFetchError(base, `cannot reach ${base}${path}: ${why} (is the agent running with --metrics-port?)`, { cause: err });
    }
  };
  const json = async (res: Response, path: string): Promise<unknown> => {
    if (!res.ok) throw new TopFetchError(base, `${base}${path} answered HTTP ${res.status}`);
    try {
      return await res.json();
    } catch (err) {
      throw new TopFetchError(base, `${base}${path} did not answer JSON: ${(err as Error).message}`, { cause: err });
    }
  };
  return async () => {
    if (!flumeOnly) {
      const res = await get('/snapshot');
      if (res.status !== 404) {
        const s = (await json(res, '/snapshot')) as AgentSnapshot;
        if (!s || !Array.isArray(s.components)) throw new TopFetchError(base, `${base}/snapshot is not a flume-tail snapshot`);
        return s;
      }
      await res.body?.cancel();
      flumeOnly = true;
    }
    return fromFlumeJson(await json(await get('/metrics'), '/metrics'), new URL(base).host);
  };
}

export async function runTop(opts: TopOptions): Promise<void> {
  const ui = runDashboard({
    title: `flume-tail top · ${opts.url}`,
    poll: snapshotPoller(opts.url),
    intervalMs: opts.intervalMs,
    onQuit: () => undefined,
  });
  await ui.waitUntilExit();
}
