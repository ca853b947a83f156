import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, runCli } from './helpers/cli.ts';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { VERSION } from '../src/version.ts';
import { readFileSync } from 'node:fs';

test('check prints the topology of a valid config and exits 0', async () => {
  const r = await runCli(['check', '-n', 'agent', '-f', 'fixtures/conf/netcat-memory-logger.properties']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /source source1 \(netcat\) → channel channel1/);
  assert.match(r.stdout, /channel channel1 \(memory\) → sink sink1 \(logger\)/);
});

test('check reports every problem with file, line, key, found and expected, and exits 1', async () => {
  const r = await runCli(['check', '-n', 'a1', '-f', 'fixtures/conf/broken.properties']);
  assert.is(r.code, 1);
  const f = 'fixtures/conf/broken.properties';
  assert.match(r.stderr, `${f}:5: error: a1.sources.r1.type: unknown source type "netkat"; expected one of netcat`);
  assert.match(r.stderr, `${f}:8: error: a1.channels.c1.capacity: "lots"; expected an integer >= 1`);
  assert.match(r.stderr, `${f}:10: error: a1.sinks.k1.channel: channel "c9", which is not in a1.channels`);
  assert.match(r.stderr, `${f}:12: error: a1.sinks.k2.channel: missing (found the plural "channels"`);
  assert.match(r.stderr, `${f}:13: warning: a1.sinks.k2.maxBytesToLg: unknown key (ignored)`);
  assert.match(r.stderr, /4 errors in/);
});

test('agent refuses to start on the same problems with the same messages', async () => {
  const check = await runCli(['check', '-n', 'a1', '-f', 'fixtures/conf/broken.properties']);
  const agent = await runCli(['agent', '-n', 'a1', '-f', 'fixtures/conf/broken.properties']);
  assert.is(agent.code, 1);
  assert.is(agent.stderr, check.stderr);
});

test('a missing file is a clear error', async () => {
  const r = await runCli(['check', '-n', 'a1', '-f', 'fixtures/conf/nope.properties']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /nope\.properties: error: \(file\): cannot be read \(ENOENT\)/);
});

test('--version matches package.json and --help lists the commands', async () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.is(VERSION, pkg.version);
  const v = await runCli(['--version']);
  assert.is(v.stdout.trim(), pkg.version);
  const h = await runCli(['--help']);
  assert.is(h.code, 0);
  for (const c of ['agent', 'check', 'channel', 'top', '--watch']) assert.ok(h.stdout.includes(c), `help mentions ${c}`);
});

test('the npm bin runs as a command of its own, with the node flags of its first line', () => {
  // what an installed `flume-tail` does: the kernel reads `#!/usr/bin/env -S node --max-semi-space-size=4`
  const bin = join(ROOT, 'bin', 'flume-tail.js');
  assert.match(readFileSync(bin, 'utf8').split('\n', 1)[0], /^#!\/usr\/bin\/env -S node --max-semi-space-size=4$/);
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  assert.is(out.trim(), VERSION);
});

test('check offers only its own options: the dashboard and metrics flags are for commands that run an agent', async () => {
  const help = await runCli(['check', '--help']);
  assert.is(help.code, 0, help.stderr);
  assert.not.match(help.stdout, '--tui');
  assert.not.match(help.stdout, '--metrics-port');
  const r = await runCli(['check', '-n', 'agent', '-f', 'fixtures/conf/netcat-memory-logger.properties', '--tui']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, 'Unknown argument: tui');
  const agentHelp = await runCli(['agent', '--help']);
  assert.match(agentHelp.stdout, '--tui');
  assert.match(agentHelp.stdout, '--metrics-port');
});

test('-f or -n given twice is a usage error naming the flag and both values, for check and agent', async () => {
  const conf = 'fixtures/conf/netcat-memory-logger.properties';
  const check = await runCli(['check', '-n', 'agent', '-f', conf, '-f', conf]);
  assert.is(check.code, 2, check.stderr);
  assert.match(check.stderr, `-f/--conf-file was given 2 times ("${conf}", "${conf}"); give it once`);
  assert.not.match(check.stderr, 'cannot be read');
  const agent = await runCli(['agent', '-n', 'a1', '-n', 'a2', '-f', conf]);
  assert.is(agent.code, 2, agent.stderr);
  assert.match(agent.stderr, '-n/--name was given 2 times ("a1", "a2"); give it once');
});

test.run();
