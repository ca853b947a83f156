import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir, until } from './helpers/poll.ts';

/**
 * The real CLI with --tui in a real terminal (tmux): lines are appended to a
 * watched file, the screen shows the file channel's fill, a non-zero
 * events/s, the file's lag, and the logger sink's output inside the
 * recent-events pane; `q` stops the agent and the CLI exits with status 0.
 */
const root = resolve(import.meta.dirname, '..');
const socketName = `flume-tail-e2e-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socketName, '-f', '/dev/null', ...args], { encoding: 'utf8' });
const screen = (): string => tmux('capture-pane', '-p', '-t', 'main');
const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

test('flume-tail --watch DIR --tui: fill, events/s and lag on screen while lines are written; q exits 0', async () => {
  const { dir, cleanup } = tempDir();
  let writer: NodeJS.Timeout | undefined;
  try {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const log = join(logs, 'app.log');
    writeFileSync(log, '');
    const statusFile = join(dir, 'exit-status');
    const cli = [process.execPath, join(root, 'bin/flume-tail.js'), '--watch', logs, '--tui', '--data-dir', join(dir, 'state')].map(quote).join(' ');
    // The shell records the CLI's exit status in a file: tmux's own pane status can lag the pane's death.
    tmux('new-session', '-d', '-s', 'main', '-x', '100', '-y', '30', '-c', dir, `${cli}; echo $? > ${quote(statusFile)}; sleep 30`);

    await until('the dashboard', () => /Channels · 1/.test(screen()), 20_000, 100);
    let n = 0;
    writer = setInterval(() => {
      let lines = '';
      for (let i = 0; i < 5; i++) lines += `e2e line ${n++}\n`;
      appendFileSync(log, lines);
    }, 50);

    const shown: string = await until('fill, a non-zero events/s and the events pane', () => {
      const s = screen();
      const rate = /tail\s+TAILDIR\s+● FLOWING\s+([\d.]+)k?\/s/.exec(s);
      return /ch\s+file\s+[█░]+\s+[\d.]+%\s+[\d.]+k?\/[\d.]+[kM]? ● OK/.test(s) && rate && Number(rate[1]) > 0 && /e2e line \d+/.test(s) ? s : undefined;
    }, 20_000, 100) as string;
    assert.match(shown, /out\s+logger\s+● FLOWING\s+[\d.]+k?\/s/);
    assert.match(shown, /disk [\d.]+ [KMG]?i?B/);
    assert.match(shown, /app\.log\s+lag [\d.]+ [KMG]?i?B/);
    assert.match(shown, /Recent events/);
    for (const line of shown.split('\n')) assert.ok([...line].length <= 100, `a line wider than the terminal: ${line}`);

    // q while lines are still being written: the agent stops cleanly all the same.
    tmux('send-keys', '-t', 'main', 'q');
    const status = await until('the CLI to exit after q', () => {
      try {
        return readFileSync(statusFile, 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    }, 20_000, 100);
    assert.is(status, '0', `exit status ${status}; screen:\n${screen()}`);
  } finally {
    if (writer) clearInterval(writer);
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    cleanup();
  }
});

test.run();
