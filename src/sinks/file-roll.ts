import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ComponentContext } from '../config/context.ts';
import type { WritesFiles } from '../core/lifecycle.ts';
import type { FlumeEvent } from '../core/event.ts';
import { CounterGroup, SINK_COUNTERS } from '../metrics/counters.ts';
import type { Sink, SinkDeps, SinkSpec } from './sink.ts';
import { javaMapString } from './hexdump.ts';
import { mkdirpSync } from '../core/mkdirp.ts';

export interface FileRollSinkOptions {
  batchSize: number;
  directory: string;
  /** ms; 0 = never roll */
  rollIntervalMs: number;
  prefix: string;
  extension: string;
  serializer: 'text' | 'header_and_text';
}

const NL = Buffer.from('\n');

/**
 * Flume's file_roll sink: event bodies, one per line, in files under
 * `sink.directory`, a new file every `sink.rollInterval` seconds, named like
 * Flume's default path manager (`<prefix><start millis>-<n><.ext>`). Unlike
 * Flume (which only flushes), a batch is fsync'ed before it is acknowledged,
 * so a committed take is on disk.
 */
export class FileRollSink implements Sink, WritesFiles {
  readonly counters: CounterGroup;
  private fd: number | undefined;
  private openedAt = 0;
  private readonly seriesStart = Date.now();
  private fileIndex = 0;

  constructor(readonly name: string, private readonly opts: FileRollSinkOptions, private readonly deps: SinkDeps) {
    this.counters = new CounterGroup('SINK', name, 'file_roll', SINK_COUNTERS);
  }

  writesUnder(): readonly string[] {
    return [resolve(this.opts.directory)];
  }

  async start(): Promise<void> {
    mkdirpSync(this.opts.directory);
  }

  async stop(): Promise<void> {
    this.close();
  }

  private close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
      this.counters.inc('ConnectionClosedCount');
    }
  }

  private current(): number {
    const now = Date.now();
    if (this.fd !== undefined && this.opts.rollIntervalMs > 0 && now - this.openedAt >= this.opts.rollIntervalMs) this.close();
    if (this.fd === undefined) {
      const name = `${this.opts.prefix}${this.seriesStart}-${++this.fileIndex}${this.opts.extension ? '.' + this.opts.extension : ''}`;
      this.fd = openSync(join(this.opts.directory, name), 'a');
      this.openedAt = now;
      this.counters.inc('ConnectionCreatedCount');
      this.deps.log.debug(`writing to ${name}`);
    }
    return this.fd;
  }

  async deliver(events: FlumeEvent[]): Promise<void> {
    const parts: Uint8Array[] = [];
    for (const e of events) {
      if (this.opts.serializer === 'header_and_text') parts.push(Buffer.from(javaMapString(e.headers) + ' '));
      parts.push(e.body, NL);
    }
    const buf = Buffer.concat(parts);
    const fd = this.current();
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off);
      fsyncSync(fd);
    } catch (err) {
      this.counters.inc('EventWriteFail', events.length);
      this.close();
      throw err;
    }
  }
}

export const fileRollSinkSpec: SinkSpec<FileRollSinkOptions> = {
  type: 'file_roll',
  keys: 'sink.directory, sink.rollInterval, sink.pathManager, sink.pathManager.prefix, sink.pathManager.extension, sink.serializer, batchSize',
  parse(ctx: ComponentContext): FileRollSinkOptions {
    const pm = ctx.string('sink.pathManager', 'DEFAULT');
    if (pm.toUpperCase() !== 'DEFAULT') ctx.error('sink.pathManager', `"${pm}"`, 'DEFAULT');
    return {
      batchSize: ctx.int('batchSize', 100, { min: 1 }),
      directory: ctx.requiredString('sink.directory', 'the directory to write files into'),
      rollIntervalMs: ctx.int('sink.rollInterval', 30, { min: 0 }) * 1000,
      prefix: ctx.string('sink.pathManager.prefix', ''),
      extension: ctx.string('sink.pathManager.extension', ''),
      serializer: ctx.oneOf('sink.serializer', 'TEXT', ['TEXT', 'HEADER_AND_TEXT'] as const).toLowerCase() as FileRollSinkOptions['serializer'],
    };
  },
  create(opts, deps) {
    return new FileRollSink(deps.name, opts, deps);
  },
};
