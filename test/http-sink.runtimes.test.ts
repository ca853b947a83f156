import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, runtimeAvailable } from './helpers/cli.ts';
import { tempDir } from './helpers/poll.ts';

/**
 * The HTTP sink's client under each runtime, as the runtime runs it: Node and
 * Bun keep a connection for the next request; Deno opens one per request,
 * because its node:http client's own retry on a pooled connection it took for
 * stale delivered batches twice (see KEEP_ALIVE in sinks/http/client.ts).
 */
/** Runs a script under a runtime, as the runtime runs the CLI; resolves with its stdout. */
function runScript(runtime: 'node' | 'bun' | 'deno', script: string): Promise<string> {
  const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name);
  const [cmd, ...args] = runtime === 'node' ? [process.execPath, '--import', 'tsx', script] : runtime === 'bun' ? [bin('bun'), script] : [bin('deno'), 'run', '-A', '--quiet', script];
  return new Promise<string>((resolve, reject) =>
    execFile(cmd, args, { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

for (const runtime of ['node', 'bun', 'deno'] as const) {
  test(`the HTTP client under ${runtime}: ${runtime === 'deno' ? 'a connection per request' : 'one kept connection'}, every request answered`, async () => {
    assert.ok(runtimeAvailable(runtime), `${runtime} is not installed (npm ci)`);
    const { dir, cleanup } = tempDir();
    const ports: number[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        ports.push(req.socket.remotePort!);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const script = join(dir, 'post.mts');
      writeFileSync(script, [
        `import { Buffer } from 'node:buffer';`,
        `import process from 'node:process';`,
        `import { HttpClient } from ${JSON.stringify(join(ROOT, 'src', 'sinks', 'http', 'client.ts'))};`,
        `import { CounterGroup } from ${JSON.stringify(join(ROOT, 'src', 'metrics', 'counters.ts'))};`,
        `const c = new HttpClient({ endpoint: new URL('http://127.0.0.1:${port}/x'), connectTimeoutMs: 5000, requestTimeoutMs: 5000, maxSockets: 1, insecure: false }, new CounterGroup('SINK', 'k', 'http', ['ConnectionCreatedCount', 'ConnectionClosedCount', 'ConnectionFailedCount']));`,
        `const statuses = [];`,
        `for (let i = 0; i < 5; i++) statuses.push((await c.post(Buffer.from('line ' + i + '\\\\n'), {})).status);`,
        `console.log(JSON.stringify(statuses));`,
        `process.exit(0);`,
      ].join('\n'));
      const out = await runScript(runtime, script);
      assert.equal(JSON.parse(out.trim().split('\n').pop()!), [200, 200, 200, 200, 200]);
      assert.is(ports.length, 5);
      assert.is(new Set(ports).size, runtime === 'deno' ? 5 : 1, `client ports ${ports.join(', ')}`);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      cleanup();
    }
  });
}

// Deno runs a worker as a runtime of its own (~16 MB): its JSON encoding stays on the event loop unless gzip is asked for
for (const runtime of ['node', 'bun', 'deno'] as const) {
  test(`the encoder thread's default under ${runtime}: ${runtime === 'deno' ? 'off, on with gzip' : 'on'}; encodeThread says otherwise`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const script = join(dir, 'spec.mts');
      writeFileSync(script, [
        `import process from 'node:process';`,
        `import { httpSinkSpec } from ${JSON.stringify(join(ROOT, 'src', 'sinks', 'http', 'spec.ts'))};`,
        `import { contextOf } from ${JSON.stringify(join(ROOT, 'test', 'helpers', 'context.ts'))};`,
        `const parse = (keys) => httpSinkSpec.parse(contextOf('a.sinks.k', { endpoint: 'http://127.0.0.1:1/', format: 'ndjson', ...keys }, 1, 0).ctx).encodeThread;`,
        `console.log(JSON.stringify([parse({}), parse({ compression: 'gzip' }), parse({ encodeThread: 'true' }), parse({ encodeThread: 'false' })]));`,
        `process.exit(0);`,
      ].join('\n'));
      const out = await runScript(runtime, script);
      assert.equal(JSON.parse(out.trim().split('\n').pop()!), runtime === 'deno' ? [false, true, true, false] : [true, true, true, false]);
    } finally {
      cleanup();
    }
  });
}

test.run();
