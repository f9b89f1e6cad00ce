import type { Clock } from '../util/clock.ts';

export interface LimiterOptions {
  /** Minimum gap between the starts of two requests, ms. */
  minGapMs: number;
  /** Requests started in any rolling 60 s window (kept with WINDOW_MARGIN_MS of slack). */
  requestsPerMinute?: number;
  /** Requests started per UTC day, counted from `startedToday`. */
  requestsPerDay?: number;
  /** Requests already started today (from earlier runs), so the day cap holds across runs. */
  startedToday?: number;
}

const MINUTE = 60_000;

/**
 * Slack added to the per-minute window. The limiter stamps a start when it grants it, the server
 * when the request arrives; the first request of a run arrives later than the rest (connection
 * set-up, the SDK's first call), so a start granted exactly 60 s after it can reach the server
 * before its 60 s are up and get a 429. Two seconds cover that skew at about 3% of throughput.
 */
export const WINDOW_MARGIN_MS = 2_000;
const WINDOW = MINUTE + WINDOW_MARGIN_MS;

/**
 * Decides when the next request may start. Starts are reserved synchronously, so concurrent
 * workers never both take the last slot of a window. Written by hand because p-limit/p-queue
 * model concurrency or fixed intervals, not a rolling window plus a server-imposed pause.
 */
export class StartLimiter {
  private readonly starts: number[] = [];
  private lastStart = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private today: string;
  private dayCount: number;
  private learnedRpm: number | undefined;

  constructor(
    private readonly options: LimiterOptions,
    private readonly clock: Clock,
  ) {
    this.today = utcDay(clock.now());
    this.dayCount = options.startedToday ?? 0;
  }

  /** The server told us to back off (RetryInfo): no request starts before `until`. */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  /**
   * A 429 says the real quota is lower than ours: the starts the server accepted in the window
   * before the refused one (started at `refusedAt`) are the new ceiling. This is how a wrong
   * `requestsPerMinute` adapts.
   */
  learnFromRateLimit(refusedAt: number): void {
    const accepted = this.starts.filter((t) => t > refusedAt - WINDOW && t < refusedAt).length;
    // A 429 after a quiet window says nothing about the rate (another client spent the quota):
    // retryDelay paces that one, and a ceiling of 0 or 1 would cripple the rest of the run.
    if (accepted < 2) return;
    const learned = accepted;
    if (this.learnedRpm === undefined || learned < this.learnedRpm) this.learnedRpm = learned;
  }

  /** True when the day cap is reached: the batch should stop rather than wait for midnight. */
  dayExhausted(): boolean {
    this.rollDay();
    return this.options.requestsPerDay !== undefined && this.dayCount >= this.options.requestsPerDay;
  }

  /** Milliseconds until a start is allowed (0 = now). */
  waitTime(now = this.clock.now()): number {
    let at = Math.max(now, this.lastStart + this.options.minGapMs, this.pausedUntil);
    const configured = this.options.requestsPerMinute;
    const rpm =
      configured === undefined ? this.learnedRpm : Math.min(configured, this.learnedRpm ?? configured);
    // Kept for two windows: learnFromRateLimit looks back a window from a request already in flight.
    while (this.starts.length && (this.starts[0] ?? 0) <= now - 2 * WINDOW) this.starts.shift();
    if (rpm !== undefined) {
      if (this.starts.length >= rpm) {
        at = Math.max(at, (this.starts[this.starts.length - rpm] ?? now) + WINDOW);
      }
    }
    return at - now;
  }

  /** Waits for a slot and reserves it. Returns false when the day cap is reached or `signal` aborts. */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (signal?.aborted || this.dayExhausted()) return false;
      const wait = this.waitTime();
      if (wait <= 0) break;
      await this.clock.sleep(wait, signal);
    }
    const now = this.clock.now();
    this.lastStart = now;
    this.starts.push(now);
    this.dayCount += 1;
    return true;
  }

  get startedToday(): number {
    return this.dayCount;
  }

  private rollDay(): void {
    const day = utcDay(this.clock.now());
    if (day !== this.today) {
      this.today = day;
      this.dayCount = 0;
    }
  }
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
