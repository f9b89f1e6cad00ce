import type { GenerationResult } from '../providers/types.ts';
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
export const WINDOW = MINUTE + WINDOW_MARGIN_MS;

/**
 * The AIMD constants (README, "Rate limits"): a per-minute-quota 429 multiplies the learned ceiling
 * by DECREASE (0.9, the backoff ratio of Netflix's concurrency-limits AIMDLimit), and every clean
 * window adds INCREASE of it (at least one request), as TCP's congestion window grows between
 * losses. A gentle decrease suits a quota: the server names its own wait (RetryInfo), so the
 * ceiling only has to stop us from running into the wall every window, not drain a queue.
 */
const AIMD_DECREASE = 0.9;
const AIMD_INCREASE = 0.1;

/** A granted start; the runner hands it back with the request's result. */
export interface Slot {
  readonly at: number;
  /** pending: in flight; accepted: the server took it; refused: 429; failed: 5xx or never arrived. */
  outcome: 'pending' | 'accepted' | 'refused' | 'failed';
}

/**
 * Decides when the next request may start. Starts are reserved synchronously, so concurrent
 * workers never both take the last slot of a window. Written by hand because p-limit/p-queue
 * model concurrency or fixed intervals, not a rolling window plus a server-imposed pause and a
 * ceiling learned from the server's answers.
 */
export class StartLimiter {
  private readonly starts: Slot[] = [];
  private lastStart = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private today: string;
  private dayCount: number;
  /** The learned per-window ceiling (fractional, so +10% of a small ceiling accumulates); undefined: none learned. */
  private learned: number | undefined;
  /** When the learned ceiling last moved; a window after it without a decrease is a clean window. */
  private changedAt = Number.NEGATIVE_INFINITY;
  /** When it was last lowered: a 429 for a request started before that is old news. */
  private loweredAt = Number.NEGATIVE_INFINITY;
  /** Accepted starts since the ceiling last moved, and when the first of them started. */
  private usedSinceChange = 0;
  private usedFrom: number | undefined;

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
   * Feeds a request's result back. A success (or a refusal the server still counted, such as a
   * safety block) is an accepted start; a 5xx or a request that never arrived is not. A 429 marks
   * the start refused and, when it is a per-minute-quota 429 on one of the image's first tries,
   * lowers the ceiling (see `lower`). `ownRetry`: the image failed before for another reason
   * (503, timeout), so this request is its own retry, and its 429 says nothing about the rate
   * the others may go at.
   */
  observe(slot: Slot, result: GenerationResult, ownRetry: boolean): void {
    if (result.ok) {
      this.accept(slot);
      return;
    }
    if (result.errorType === 'rate_limit') {
      slot.outcome = 'refused';
      if (result.perMinuteQuota && !ownRetry) this.lower(slot, result.retryAfterMs ?? 0);
      return;
    }
    const reachedNoModel =
      result.errorType === 'api_error' || result.errorType === 'network' || result.errorType === 'unknown';
    if (reachedNoModel) slot.outcome = 'failed';
    else this.accept(slot);
  }

  private accept(slot: Slot): void {
    slot.outcome = 'accepted';
    if (slot.at < this.changedAt) return;
    this.usedSinceChange += 1;
    this.usedFrom = Math.min(this.usedFrom ?? slot.at, slot.at);
  }

  /**
   * Multiplicative decrease: the new ceiling is the smaller of DECREASE × the current one and
   * the rate the server accepted before the refusal. The first 429 of a run thus takes what the
   * server really took; later ones cut by 10%. Once per window's worth of requests, as TCP cuts
   * once per round trip.
   *
   * The rate is the accepted starts of the window before the refusal over the time from the
   * oldest of them to the moment the server frees a slot (refusal + retryDelay), at most a
   * window. A full window of our own requests thus gives their count; a burst refused with
   * "retry in 58 s" gives the burst (the server's window is full of it); but five starts refused
   * with "retry in 1 s" after ten seconds are a rate of about 28 a minute, not a ceiling of 5:
   * the slot that frees in a second was not ours, so the quota is shared or the 429 was a blip.
   */
  private lower(refused: Slot, retryAfterMs: number): void {
    if (refused.at <= this.loweredAt) return;
    const since = refused.at - WINDOW;
    const accepted = this.starts.filter(
      (s) =>
        s !== refused &&
        s.at > since &&
        s.at <= refused.at &&
        (s.outcome === 'accepted' || s.outcome === 'pending'),
    );
    // A 429 after a quiet window says nothing about our rate (another client spent the quota):
    // its retryDelay paces it, and a ceiling of 0 or 1 would cripple the rest of the run.
    if (accepted.length < 2) return;
    const oldest = accepted[0]?.at ?? refused.at;
    const span = Math.min(WINDOW, Math.max(1_000, refused.at + retryAfterMs - oldest));
    const rate = (accepted.length * WINDOW) / span;
    const current = this.ceiling() ?? Number.POSITIVE_INFINITY;
    this.learned = Math.max(1, Math.min(current * AIMD_DECREASE, rate));
    const now = this.clock.now();
    this.loweredAt = now;
    this.restartWindow(now);
  }

  private restartWindow(now: number): void {
    this.changedAt = now;
    this.usedSinceChange = 0;
    this.usedFrom = undefined;
  }

  /**
   * Additive increase: a clean window (a full window from the first start after the ceiling
   * last moved, with no cut and at least the ceiling's worth of accepted starts, so the ceiling
   * was really tried and held, as TCP grows its window only when it is used) raises the learned
   * ceiling by 10% (at least one request), up to the configured requestsPerMinute (then the
   * configured value rules alone) or without bound when none is configured.
   */
  private recover(now: number): void {
    if (this.learned === undefined || this.usedFrom === undefined) return;
    if (now - this.usedFrom < WINDOW || this.usedSinceChange < Math.floor(this.learned)) return;
    this.learned += Math.max(1, this.learned * AIMD_INCREASE);
    this.restartWindow(now);
    const configured = this.options.requestsPerMinute;
    if (configured !== undefined && this.learned >= configured) this.learned = undefined;
  }

  /** The per-window ceiling in force now (configured, learned, or undefined for none). */
  ceiling(now = this.clock.now()): number | undefined {
    this.recover(now);
    const configured = this.options.requestsPerMinute;
    if (this.learned === undefined) return configured;
    return Math.min(configured ?? Number.POSITIVE_INFINITY, this.learned);
  }

  /** True when the day cap is reached: the batch should stop rather than wait for midnight. */
  dayExhausted(): boolean {
    this.rollDay();
    return this.options.requestsPerDay !== undefined && this.dayCount >= this.options.requestsPerDay;
  }

  /** Milliseconds until a start is allowed (0 = now). */
  waitTime(now = this.clock.now()): number {
    let at = Math.max(now, this.lastStart + this.options.minGapMs, this.pausedUntil);
    const ceiling = this.ceiling(now);
    const rpm = ceiling === undefined ? undefined : Math.max(1, Math.floor(ceiling));
    // Kept for two windows: `lower` looks back a window from a request already in flight.
    while (this.starts.length && (this.starts[0]?.at ?? 0) <= now - 2 * WINDOW) this.starts.shift();
    if (rpm !== undefined) {
      // Refused starts did not use the server's quota; failed ones may have, so they still count here.
      const counted = this.starts.filter((s) => s.outcome !== 'refused' && s.at > now - WINDOW);
      if (counted.length >= rpm) {
        at = Math.max(at, (counted[counted.length - rpm]?.at ?? now) + WINDOW);
      }
    }
    return at - now;
  }

  /** Waits for a start and reserves it. Returns false when the day cap is reached or `signal` aborts. */
  async acquire(signal?: AbortSignal): Promise<Slot | false> {
    for (;;) {
      if (signal?.aborted || this.dayExhausted()) return false;
      const wait = this.waitTime();
      if (wait <= 0) break;
      await this.clock.sleep(wait, signal);
    }
    const now = this.clock.now();
    const slot: Slot = { at: now, outcome: 'pending' };
    this.lastStart = now;
    this.starts.push(slot);
    this.dayCount += 1;
    return slot;
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
