import * as core from '@actions/core';
import { errorMessage } from '../../util/error-message.ts';

export interface CheckpointOptions {
  /** Push after this many finished images (0: never by count). */
  everyImages: number;
  /** Push when this long has passed since the last push and something new is saved (0: never by time). */
  everyMs: number;
  /** Commits and pushes what is saved now; resolves with a line for the log. */
  push(reason: string): Promise<string>;
  now?: () => number;
}

/**
 * Pushes a running batch's saved work to its branch now and then, so a lost runner loses at most
 * the images since the last push. Triggered from the batch's events, which are synchronous: a
 * push runs beside the workers and is never awaited by them. One push at a time; images saved
 * while one runs are carried by the next.
 */
export class Checkpoints {
  private readonly now: () => number;
  private sinceLast = 0;
  private lastPushAt: number;
  private running: Promise<void> | undefined;
  private again: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: CheckpointOptions) {
    this.now = options.now ?? Date.now;
    this.lastPushAt = this.now();
  }

  /** An image was saved (or recorded as failed): the progress file changed. */
  saved(counts: boolean): void {
    if (this.closed) return;
    if (counts) this.sinceLast += 1;
    const { everyImages, everyMs } = this.options;
    if (everyImages > 0 && this.sinceLast >= everyImages) {
      this.request(`${this.sinceLast} image(s) since the last checkpoint`);
      return;
    }
    if (everyMs > 0 && !this.timer) {
      const wait = Math.max(0, this.lastPushAt + everyMs - this.now());
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.request(`${(everyMs / 60_000).toFixed(2)} min since the last checkpoint`);
      }, wait);
      this.timer.unref();
    }
  }

  /** Pushes as soon as the push under way (if any) is done. */
  request(reason: string): void {
    if (this.closed) return;
    if (this.running) {
      this.again ??= reason;
      return;
    }
    this.clearTimer();
    this.sinceLast = 0;
    this.lastPushAt = this.now();
    this.running = this.options
      .push(reason)
      .then(
        (line) => {
          core.info(`Checkpoint (${reason}): ${line}`);
        },
        // A failed checkpoint must not end the batch: the next one, or the final push, carries it.
        (error: unknown) => core.warning(`Checkpoint (${reason}) failed: ${errorMessage(error)}`),
      )
      .finally(() => {
        this.running = undefined;
        const next = this.again;
        this.again = undefined;
        if (next !== undefined) this.request(next);
      });
  }

  /** Stops further checkpoints and waits for the one under way (the final push follows). */
  async close(): Promise<void> {
    this.closed = true;
    this.again = undefined;
    this.clearTimer();
    while (this.running) await this.running;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
