import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCli, type Cli } from './helpers/cli.ts';
import { freePort, LineClient } from './helpers/net.ts';
import { tempDir, until } from './helpers/poll.ts';
import { Receiver } from './helpers/receiver.ts';

/**
 * The durability promise, end to end with the real CLI: netcat → file channel
 * → HTTP sink whose receiver is down. Lines are sent while the agent is
 * killed with SIGKILL at random moments and restarted; then the receiver
 * comes up. Every line that got `OK` must arrive; duplicates are counted.
 */
test('kill -9 at random moments loses no line that got OK (netcat → file channel → http)', async () => {
  const { dir, cleanup } = tempDir();
  const receiver = new Receiver();
  const ncPort = await freePort();
  const httpPort = await freePort();
  const conf = join(dir, 'agent.properties');
  writeFileSync(
    conf,
    [
      'a.sources = nc',
      'a.channels = fc',
      'a.sinks = web',
      'a.sources.nc.type = netcat',
      'a.sources.nc.bind = 127.0.0.1',
      `a.sources.nc.port = ${ncPort}`,
      'a.sources.nc.channels = fc',
      'a.channels.fc.type = file',
      `a.channels.fc.checkpointDir = ${join(dir, 'checkpoint')}`,
      `a.channels.fc.dataDirs = ${join(dir, 'data')}`,
      'a.channels.fc.checkpointInterval = 1000',
      'a.channels.fc.minimumRequiredSpace = 1048576',
      'a.sinks.web.type = http',
      `a.sinks.web.endpoint = http://127.0.0.1:${httpPort}/ingest`,
      'a.sinks.web.format = ndjson',
      'a.sinks.web.batchSize = 200',
      'a.sinks.web.connectTimeout = 500',
      'a.sinks.web.maxBackoff = 300',
      'a.sinks.web.channel = fc',
      '',
    ].join('\n'),
  );
  const acked = new Set<string>();
  let seq = 0;
  let kills = 0;
  let cli: Cli | undefined;
  try {
    for (let round = 0; round < 4; round++) {
      cli = startCli(['agent', '-n', 'a', '-f', conf]);
      await cli.waitFor('agent a started', 'stderr');
      const client = await LineClient.connect(ncPort);
      const sentThisRound: string[] = [];
      // Send in bursts and kill the agent at a random point while lines are in flight.
      const killAfter = 3 + Math.floor(Math.random() * 5);
      for (let burst = 0; burst < 8; burst++) {
        const lines = Array.from({ length: 100 }, () => `line-${String(seq++).padStart(6, '0')}`);
        sentThisRound.push(...lines);
        client.send(lines.join('\n') + '\n');
        if (burst === killAfter && round < 3) {
          await new Promise((r) => setTimeout(r, Math.random() * 30));
          cli.kill('SIGKILL');
          kills++;
          break;
        }
        await until('some OKs for this burst', () => client.lines().length >= Math.min(sentThisRound.length, (burst + 1) * 100) - 100, 10_000);
      }
      if (round === 3) await until('every line of the last round acknowledged', () => client.lines().length === sentThisRound.length, 15_000);
      else await cli.exited;
      // Replies come in order: the first k lines of this connection were acknowledged.
      await new Promise((r) => setTimeout(r, 50));
      const oks = client.lines().filter((l) => l === 'OK').length;
      for (const l of sentThisRound.slice(0, oks)) acked.add(l);
      if (round === 3) break;
    }
    // The last round's agent still runs; now the receiver comes up and it drains.
    await receiver.listen(httpPort);
    await until(`all ${acked.size} acknowledged lines delivered`, () => new Set(receiver.bodies).size >= acked.size && [...acked].every((l) => receiver.bodies.includes(l)), 30_000, 200);
    const got = new Set(receiver.bodies);
    const missing = [...acked].filter((l) => !got.has(l));
    assert.is(missing.length, 0, `missing: ${missing.slice(0, 5).join(', ')}`);
    const duplicates = receiver.bodies.length - got.size;
    console.log(`  crash test: ${acked.size} lines acknowledged, ${kills} kills, 0 missing, ${duplicates} duplicates`);
    assert.ok(kills >= 3);
    cli!.kill('SIGTERM');
    const { code } = await cli!.exited;
    assert.is(code, 0);
  } finally {
    cli?.kill('SIGKILL');
    await receiver.close();
    cleanup();
  }
});

test.run();
