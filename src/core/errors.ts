/**
 * Typed errors. Every error carries a stable `code` so callers branch on kind,
 * never on message text.
 */
export class FlumeError extends Error {
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The channel cannot take the batch now (capacity, bytes or disk space). Sources back off and retry. */
export class ChannelFullError extends FlumeError {
  constructor(readonly channel: string, reason: string) {
    super('CHANNEL_FULL', `channel ${channel} is full: ${reason}`);
  }
}

/** The channel is closed or unusable (stopped, failed to start, I/O error). */
export class ChannelClosedError extends FlumeError {
  constructor(readonly channel: string, reason: string, options?: { cause?: unknown }) {
    super('CHANNEL_CLOSED', `channel ${channel} is closed: ${reason}`, options);
  }
}

/** A batch larger than the channel's transactionCapacity. A programming or config error, not back-pressure. */
export class TransactionTooLargeError extends FlumeError {
  constructor(readonly channel: string, size: number, capacity: number) {
    super('TRANSACTION_TOO_LARGE', `channel ${channel}: a transaction of ${size} events exceeds transactionCapacity ${capacity}`);
  }
}

/** A sink could not deliver a batch; the runner rolls back and backs off. */
export class DeliveryError extends FlumeError {
  constructor(readonly sink: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('DELIVERY_FAILED', `sink ${sink}: ${message}`, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.detail = message;
  }
  readonly retryAfterMs?: number;
  /** The message without the sink's name (for a log line that names the sink already). */
  readonly detail: string;
}

/** The configuration has problems; `problems` lists every one. */
export class ConfigError extends FlumeError {
  constructor(readonly problems: readonly string[]) {
    super('CONFIG_INVALID', problems.join('\n'));
  }
}
