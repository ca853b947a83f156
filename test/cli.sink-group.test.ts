import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, startCli } from './helpers/cli.ts';
import { freePort, LineClient } from './helpers/net.ts';
import { tempDir, until } from './helpers/poll.ts';
import { Receiver } from './helpers/receiver.ts';

test('a failover sink group: the primary endpoint is down, every line reaches the backup; the primary takes over when it is up', async () => {
  const { dir, cleanup } = tempDir();
  const nc = await freePort();
  const primaryPort = await freePort();
  const primary = new Receiver();
  const backup = new Receiver();
  const backupPort = await backup.listen();
  const conf = join(dir, 'a.properties');
  writeFileSync(conf, `a.sources = r1
a.channels = c1
a.sinks = k1 k2
a.sinkgroups = g1
a.sources.r1.type = netcat
a.sources.r1.bind = 127.0.0.1
a.sources.r1.port = ${nc}
a.sources.r1.channels = c1
a.channels.c1.type = memory
a.channels.c1.capacity = 10000
a.sinks.k1.type = http
a.sinks.k1.endpoint = http://127.0.0.1:${primaryPort}/in
a.sinks.k1.format = ndjson
a.sinks.k1.connectTimeout = 300
a.sinks.k1.channel = c1
a.sinks.k2.type = http
a.sinks.k2.endpoint = http://127.0.0.1:${backupPort}/in
a.sinks.k2.format = ndjson
a.sinks.k2.channel = c1
a.sinkgroups.g1.sinks = k1 k2
a.sinkgroups.g1.processor.type = failover
a.sinkgroups.g1.processor.priority.k1 = 10
a.sinkgroups.g1.processor.priority.k2 = 5
a.sinkgroups.g1.processor.maxpenalty = 2000
`);
  const check = await runCli(['check', '-n', 'a', '-f', conf]);
  assert.match(check.stdout, /sinkgroup g1 \(failover\) over sink k1, sink k2/);
  const cli = startCli(['agent', '-n', 'a', '-f', conf]);
  try {
    await cli.waitFor('agent a started', 'stderr');
    const client = await LineClient.connect(nc);
    const first = Array.from({ length: 300 }, (_, i) => `f${i}`);
    client.send(first.join('\n') + '\n');
    await until('300 lines at the backup', () => backup.bodies.length >= 300, 15_000);
    assert.equal([...backup.bodies].sort(), [...first].sort());
    await primary.listen(primaryPort);
    // once its penalty is served the primary is tried again and takes the traffic back
    let n = 0;
    await until('new lines at the primary', () => {
      client.send(`p${n++}\n`);
      return primary.bodies.length > 0;
    }, 15_000, 200);
    const all = [...primary.bodies, ...backup.bodies];
    for (let i = 0; i < n - 1; i++) await until(`p${i} delivered`, () => [...primary.bodies, ...backup.bodies].includes(`p${i}`));
    assert.is(new Set(all.filter((l) => l.startsWith('f'))).size, 300);
    client.close();
  } finally {
    cli.kill('SIGTERM');
    await cli.exited;
    await primary.close();
    await backup.close();
    cleanup();
  }
});

test.run();
