export interface Lifecycle {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A component that writes files of its own (a file channel's segments and
 * checkpoint, a file_roll sink's output, a dead-letter directory). The agent
 * tells its file-tailing sources never to read them: an agent that tails
 * what it writes feeds on itself (`--watch ~` with the state in
 * `~/.flume-tail`).
 */
export interface WritesFiles {
  /** Absolute directories (everything under them) and files. */
  writesUnder(): readonly string[];
}

export function writesFiles(c: object): c is WritesFiles {
  return typeof (c as Partial<WritesFiles>).writesUnder === 'function';
}
