import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './poll.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Runtime = 'node' | 'bun' | 'deno' | 'binary';

export const NODE_FLAGS = readFileSync(join(ROOT, 'bin', 'flume-tail.js'), 'utf8').split('\n', 1)[0].split(/\s+/).filter((w) => w.startsWith('--'));

/** The command line that runs the CLI under a runtime, exactly as a user would type it. */
export function cliCommand(runtime: Runtime): string[] {
  switch (runtime) {
    case 'node':
      // with the node flags of the bin's first line (`#!/usr/bin/env -S node …`), as its shebang runs it
      return [process.execPath, ...NODE_FLAGS, join(ROOT, 'bin', 'flume-tail.js')];
    case 'bun':
      return [join(ROOT, 'node_modules', '.bin', 'bun'), join(ROOT, 'src', 'cli.ts')];
    case 'deno':
      // the README's command: V8 takes the same young-generation flag as Node's (see bin/flume-tail.js)
      return [join(ROOT, 'node_modules', '.bin', 'deno'), 'run', '-A', '--quiet', `--v8-flags=${NODE_FLAGS.join(',')}`, join(ROOT, 'src', 'cli.ts')];
    case 'binary':
      return [join(ROOT, 'dist', 'flume-tail')];
  }
}

export function runtimeAvailable(runtime: Runtime): boolean {
  const [cmd] = cliCommand(runtime);
  return existsSync(cmd);
}

/** A running CLI child process with its output collected. */
export class Cli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  async waitFor(what: RegExp | string, stream: 'stdout' | 'stderr' | 'any' = 'any', timeoutMs = 20_000): Promise<void> {
    const test = (s: string) => (typeof what === 'string' ? s.includes(what) : what.test(s));
    await until(() => `${what} in the CLI's ${stream}\n--- stdout:\n${this.stdout.slice(-2000)}\n--- stderr:\n${this.stderr.slice(-2000)}`, () =>
      test(stream === 'stdout' ? this.stdout : stream === 'stderr' ? this.stderr : this.output),
    timeoutMs);
  }

  /** SIGTERM, SIGKILL if it has not exited after `graceMs`; resolves with the exit code (0 = a clean stop). */
  async stop(graceMs = 10_000): Promise<number | null> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

export function startCli(args: string[], opts: { runtime?: Runtime; env?: Record<string, string>; cwd?: string } = {}): Cli {
  const [cmd, ...pre] = cliCommand(opts.runtime ?? 'node');
  const child = spawn(cmd, [...pre, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Cli(child);
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], opts: { runtime?: Runtime; env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startCli(args, opts);
  const timer = setTimeout(() => cli.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const { code } = await cli.exited;
  clearTimeout(timer);
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}
