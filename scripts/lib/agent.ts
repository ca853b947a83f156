// Starting the real flume-tail CLI under a runtime, exactly as a user would,
// and reading its Flume JSON metrics.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cli, cliCommand, ROOT, type Runtime } from '../../test/helpers/cli.ts';

export { Cli, ROOT, type Runtime };

export interface AgentOptions {
  runtime: Runtime;
  /** Node and Bun: write a CPU profile (--cpu-prof, Chrome's format) into this dir when the agent exits. */
  cpuProfDir?: string;
  /**
   * Run the agent without the capabilities that let root read any file (dac_override, dac_read_search),
   * through util-linux's `setpriv`, which execs the agent in its own process: as root, a file of mode 000
   * is then unreadable to it, as to any other user. Only where `dacCapsDroppable()` says so.
   */
  dropDacCaps?: boolean;
}

/** setpriv's arguments that take root's read-anything capabilities away: from the bounding set, and from the inheritable set, which for root also survives exec. */
const DROP_DAC = ['--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search'];

/**
 * True when running as root and setpriv can take root's read-anything capabilities away here: tried on a
 * file of mode 000, which a command started that way must fail to read (setpriv may be missing, or lack
 * CAP_SETPCAP to change the bounding set).
 */
export function dacCapsDroppable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const dir = mkdtempSync(join(tmpdir(), 'caps-'));
  try {
    const probe = join(dir, 'probe');
    writeFileSync(probe, 'x', { mode: 0o000 });
    const works = spawnSync('setpriv', [...DROP_DAC, 'true'], { stdio: 'ignore' }).status === 0;
    const denied = spawnSync('setpriv', [...DROP_DAC, 'cat', probe], { stdio: 'ignore' }).status !== 0;
    return works && denied;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function startAgent(args: string[], opts: AgentOptions): Cli {
  const [cmd, ...pre] = cliCommand(opts.runtime);
  const profFlags = (opts.runtime === 'node' || opts.runtime === 'bun') && opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const argv = [...profFlags, ...pre, ...args];
  const [file, ...rest] = opts.dropDacCaps ? ['setpriv', ...DROP_DAC, cmd, ...argv] : [cmd, ...argv];
  const child = spawn(file, rest, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const cli = new Cli(child);
  // Keep only the tail of the output: a long run logs a lot and we only search recent lines.
  const trim = () => {
    if (cli.stderr.length > 1 << 20) cli.stderr = cli.stderr.slice(-(1 << 19));
    if (cli.stdout.length > 1 << 20) cli.stdout = cli.stdout.slice(-(1 << 19));
  };
  child.stderr?.on('data', trim);
  child.stdout?.on('data', trim);
  return cli;
}

/** GET /metrics (Flume JSON) from an agent's metrics port. */
export function getMetrics(port: number): Promise<Record<string, Record<string, string>>> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/metrics', timeout: 2000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => {
        try {
          resolve(JSON.parse(text) as Record<string, Record<string, string>>);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('metrics timeout')));
  });
}

/** A counter of one component, 0 when missing. */
export function counter(m: Record<string, Record<string, string>>, component: string, key: string): number {
  return Number(m[component]?.[key] ?? 0);
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopAgent(cli: Cli, graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  cli.kill('SIGTERM');
  const timer = setTimeout(() => cli.kill('SIGKILL'), graceMs);
  const r = await cli.exited;
  clearTimeout(timer);
  return r;
}
