// Shared by the taildir tests (not a test file itself): a memory-backed fake
// channel processor and a way to build a TaildirSource from Flume-style keys.
import { contextOf } from './helpers/context.ts';
import { Problems } from '../src/config/problems.ts';
import type { ChannelProcessor } from '../src/core/channel-processor.ts';
import { ChannelFullError } from '../src/core/errors.ts';
import type { FlumeEvent } from '../src/core/event.ts';
import { LineBatch, type SourceBatch } from '../src/core/line-batch.ts';
import { Logger } from '../src/core/log.ts';
import { taildirSourceSpec } from '../src/sources/taildir/spec.ts';
import type { TaildirOptions, TaildirSource } from '../src/sources/taildir/source.ts';

/** Records every committed batch; can be told to refuse puts (full) or to be slow. */
export class FakeProcessor {
  readonly events: FlumeEvent[] = [];
  full = false;
  delayMs = 0;
  /** if set, each put's delay (ms) instead of delayMs: puts then commit out of order */
  delay?: () => number;
  calls = 0;
  refused = 0;
  maxInFlight = 0;
  /** the most events in one batch */
  largest = 0;
  /** as a ChannelProcessor whose channels take line batches: the source hands it LineBatches */
  readonly takesLines = true;
  private inFlight = 0;
  constructor(readonly maxBatch = 1000) {}

  async process(batch: SourceBatch): Promise<void> {
    this.calls++;
    if (this.full) {
      this.refused++;
      throw new ChannelFullError('fake', 'test says so');
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.largest = Math.max(this.largest, batch instanceof LineBatch ? batch.count : batch.length);
    try {
      const ms = this.delay ? this.delay() : this.delayMs;
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      // copy the bodies: the source's buffers are views, as a real channel would serialise them
      for (const e of batch instanceof LineBatch ? batch.events() : batch) this.events.push({ headers: { ...e.headers }, body: Buffer.from(e.body) });
    } finally {
      this.inFlight--;
    }
  }

  bodies(): string[] {
    return this.events.map((e) => Buffer.from(e.body).toString('latin1'));
  }
}

export interface Built {
  source: TaildirSource;
  problems: Problems;
  logs: string[];
}

/** A TaildirSource configured from `keys` (as in a properties file, without the component prefix). */
export function buildSource(
  keys: Record<string, string | number | boolean>, processor: FakeProcessor, stateDir: string, name = 'r1', extra: Partial<TaildirOptions> = {},
): Built {
  const { ctx, problems } = contextOf(`a.sources.${name}`, keys, 1, 0);
  const opts = { ...taildirSourceSpec.parse(ctx), ...extra };
  if (problems.errors.length > 0) throw new Error(problems.errors.map((p) => `${p.key}: ${p.found}`).join('; '));
  const logs: string[] = [];
  const log = new Logger({ write: (l) => { logs.push(l); if (process.env.TAILDIR_TEST_LOG) process.stderr.write(l); } }, 'debug');
  const source = taildirSourceSpec.create(opts, {
    name,
    processor: processor as unknown as ChannelProcessor,
    log,
    stateDir,
  }) as TaildirSource;
  return { source, problems, logs };
}

/** Fast polling settings for tests. */
export const FAST = { backoffSleepIncrement: 10, maxBackoffSleep: 40, writePosInterval: 50 };
