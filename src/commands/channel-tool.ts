import { formatInspect, formatVerify, inspectChannel, verifyChannel } from '../channels/file/inspect.ts';

/** `flume-tail channel inspect|verify DIR`: read-only, safe on a running agent's dirs. Exit 1 when verify finds corruption. */
export async function runChannelTool(action: 'inspect' | 'verify', dir: string): Promise<number> {
  if (action === 'inspect') {
    process.stdout.write(formatInspect(await inspectChannel(dir)) + '\n');
    return 0;
  }
  const report = await verifyChannel(dir);
  process.stdout.write(formatVerify(report) + '\n');
  return report.corrupt.length > 0 ? 1 : 0;
}
