import { FlumeError } from '../core/errors.ts';
import { formatInspect, formatVerify, inspectChannel, verifyChannel } from '../channels/file/inspect.ts';

/** `flume-tail channel inspect|verify DIR`: read-only, safe on a running agent's dirs. Exit 1 when verify finds corruption, 2 when DIR is not a channel. */
export async function runChannelTool(action: 'inspect' | 'verify', dir: string): Promise<number> {
  try {
    return await run(action, dir);
  } catch (err) {
    // Not a channel dir (or unreadable): a usage problem, told plainly, exit 2 so scripts can tell it from corruption.
    if (err instanceof FlumeError && err.code === 'CHANNEL_DIR') {
      process.stderr.write(`flume-tail channel ${action}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function run(action: 'inspect' | 'verify', dir: string): Promise<number> {
  if (action === 'inspect') {
    process.stdout.write(formatInspect(await inspectChannel(dir)) + '\n');
    return 0;
  }
  const report = await verifyChannel(dir);
  process.stdout.write(formatVerify(report) + '\n');
  return report.corrupt.length > 0 ? 1 : 0;
}
