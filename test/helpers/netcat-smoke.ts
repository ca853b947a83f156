import * as assert from 'uvu/assert';
import { startCli, type Runtime } from './cli.ts';
import { LineClient } from './net.ts';
import { until } from './poll.ts';
import { flumeEventLine } from '../../src/sinks/hexdump.ts';

/**
 * The seed example, verbatim, as a user runs it: the classic Flume config,
 * a TCP client on localhost:44444, OK per line, Flume's logger output, the
 * FAILED reply for an over-long line, and a clean stop on SIGTERM.
 */
export async function netcatSeedSmoke(runtime: Runtime): Promise<void> {
  const cli = startCli(['agent', '-n', 'agent', '-f', 'fixtures/conf/netcat-memory-logger.properties'], { runtime });
  try {
    await cli.waitFor('listening on', 'stderr', 60_000);
    const client = await LineClient.connect(44444, 'localhost');
    client.send('hello\nworld, this is a longer line\n');
    await until('two OK replies', () => client.lines().length >= 2);
    assert.equal(client.lines(), ['OK', 'OK']);
    const hello = flumeEventLine({}, Buffer.from('hello'), 16);
    assert.is(hello, 'Event: { headers:{} body: 68 65 6C 6C 6F ' + ' '.repeat(33) + 'hello }');
    await cli.waitFor(hello, 'stdout');
    await cli.waitFor(flumeEventLine({}, Buffer.from('world, this is a longer line'), 16), 'stdout');

    // 511 chars + newline is the longest accepted line; 512 + newline is refused and the connection closed.
    client.send('x'.repeat(511) + '\n');
    await until('the third OK', () => client.lines().length >= 3);
    client.send('y'.repeat(600) + '\n');
    await until('the FAILED reply and the close', () => client.closed);
    assert.equal(client.lines(), ['OK', 'OK', 'OK', 'FAILED: Event exceeds the maximum length (512 chars, including newline)']);
    assert.not.ok(cli.stdout.includes('79 79 79'), 'the refused line was not put');

    cli.kill('SIGTERM');
    const t0 = Date.now();
    const { code } = await cli.exited;
    assert.is(code, 0, `clean exit on SIGTERM\n${cli.stderr}`);
    assert.ok(Date.now() - t0 < 5000, 'stopped within a few seconds');
    assert.match(cli.stderr, /stopped/);
  } finally {
    cli.kill('SIGKILL');
  }
}
