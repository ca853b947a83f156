import { hostname, networkInterfaces } from 'node:os';
import type { ComponentContext } from '../config/context.ts';
import type { FlumeEvent } from '../core/event.ts';
import type { Interceptor, InterceptorSpec } from './interceptor.ts';
import { setHeader } from './set-header.ts';

export interface HostOptions {
  hostHeader: string;
  useIP: boolean;
  preserveExisting: boolean;
}

/**
 * Flume's `host` interceptor: the agent's address in `hostHeader`, computed
 * once when the interceptor is created (as Flume does at build time). Flume
 * uses `InetAddress.getLocalHost()`; here `useIP` takes the first non-internal
 * IPv4 address of the machine (127.0.0.1 when there is none), and `useIP=false`
 * the host name (`os.hostname()`; Flume asks DNS for the canonical name).
 */
export const hostInterceptorSpec: InterceptorSpec<HostOptions> = {
  type: 'host',
  keys: 'hostHeader, useIP, preserveExisting',
  parse(ctx: ComponentContext): HostOptions {
    return {
      hostHeader: ctx.string('hostHeader', 'host'),
      useIP: ctx.bool('useIP', true),
      preserveExisting: ctx.bool('preserveExisting', false),
    };
  },
  create(opts: HostOptions): Interceptor {
    const host = opts.useIP ? localIPv4() : hostname();
    return {
      intercept: (events: FlumeEvent[]) => setHeader(events, opts.hostHeader, host, opts.preserveExisting),
    };
  },
};

/** The first non-internal IPv4 address, or 127.0.0.1. */
export function localIPv4(): string {
  try {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        // Node 18.0–18.3 reported family as the number 4
        const family = String(a.family);
        if ((family === 'IPv4' || family === '4') && !a.internal) return a.address;
      }
    }
  } catch {
    // some sandboxes refuse to list interfaces; fall back like a machine without a network
  }
  return '127.0.0.1';
}
