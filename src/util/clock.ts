/** Time as the runner sees it; tests inject a virtual clock so no test waits for real delays. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A clock whose sleeps return at once and move time forward. Sleepers wake in deadline order,
 * so concurrent workers still see a consistent timeline.
 */
export class VirtualClock implements Clock {
  private time: number;
  private readonly sleepers: Array<{ until: number; wake: () => void }> = [];
  private scheduled = false;
  /** Every sleep requested, in order, for assertions on waits. */
  readonly sleeps: number[] = [];

  constructor(start = Date.UTC(2025, 0, 19, 10, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.sleepers.push({ until: this.time + ms, wake: resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Let every worker that is about to sleep register first, then wake the earliest.
    setImmediate(() => {
      this.scheduled = false;
      this.sleepers.sort((a, b) => a.until - b.until);
      const next = this.sleepers.shift();
      if (!next) return;
      this.time = Math.max(this.time, next.until);
      next.wake();
      if (this.sleepers.length) this.schedule();
    });
  }
}
