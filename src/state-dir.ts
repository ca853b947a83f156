import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where flume-tail keeps its state (file channel, positions) when a config
 * does not say: `$FLUME_TAIL_HOME`, else `$XDG_STATE_HOME/flume-tail`, else
 * `~/.flume-tail` — never the current directory by surprise.
 */
export function defaultStateDir(env: Record<string, string | undefined> = process.env): string {
  if (env.FLUME_TAIL_HOME) return env.FLUME_TAIL_HOME;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'flume-tail');
  return join(homedir(), '.flume-tail');
}
