import type { Config } from '../config/schema.ts';
import { StartLimiter } from '../pacing/limiter.ts';
import type { Clock } from '../util/clock.ts';

/** The part of the runner's StartLimiter a judge call uses. */
interface GateLimiter {
  /** A start slot (the judge's stays pending: its answer says nothing about the image quota), or false. */
  acquire(signal?: AbortSignal): Promise<object | false>;
  dayExhausted(): boolean;
  pauseUntil(until: number): void;
}

export interface GateDeps {
  limiter: GateLimiter;
  clock: Clock;
  signal?: AbortSignal | undefined;
  /** True once the run is stopping: no new judge call starts. */
  stopping: () => boolean;
  /** USD the run's cost cap still allows, not counting what this gate holds. */
  headroomUsd: () => number;
  /** Where each finished call is counted (the progress file's judge tally). */
  onCall: (spentUsd: number) => void;
}

/**
 * Lets judge calls through the same limiter and cost cap as image calls: a call waits for its
 * start slot, reserves its estimated price against the cap, and is counted when it ends. The
 * runner adds `committedUsd` to its own cap check so images and judge share one budget.
 */
export class JudgeGate {
  private reserved = 0;
  private spent = 0;

  constructor(private readonly deps: GateDeps) {}

  /** Undefined when the call may start; else why not (then nothing is reserved). */
  async start(estimateUsd: number): Promise<string | undefined> {
    if (this.deps.stopping() || this.deps.signal?.aborted) return 'the run is stopping';
    if (this.deps.headroomUsd() - this.committedUsd - estimateUsd < -1e-9) {
      return 'the cost cap would be passed';
    }
    this.reserved += estimateUsd;
    const got = await this.deps.limiter.acquire(this.deps.signal);
    if (!got || this.deps.stopping()) {
      this.reserved -= estimateUsd;
      return this.deps.limiter.dayExhausted() ? 'rateLimit.requestsPerDay is reached' : 'the run is stopping';
    }
    return undefined;
  }

  end(estimateUsd: number, spentUsd: number): void {
    this.reserved -= estimateUsd;
    this.spent += spentUsd;
    this.deps.onCall(spentUsd);
  }

  /** A 429: every request (images too) waits, as the retry table says. */
  pauseAll(ms: number): void {
    this.deps.limiter.pauseUntil(this.deps.clock.now() + ms);
  }

  sleep(ms: number): Promise<void> {
    return this.deps.clock.sleep(ms, this.deps.signal);
  }

  /** What judge calls of this run have spent or hold reserved. */
  get committedUsd(): number {
    return this.reserved + this.spent;
  }
}

/**
 * A gate of its own for judge calls made outside a synchronous run (batch-mode results as they are
 * collected): paced by delayBetweenImages and the per-minute limit, capped by cost.maxCost.
 */
export function standaloneGate(
  config: Config,
  clock: Clock,
  onCall: (spentUsd: number) => void,
  signal?: AbortSignal,
): JudgeGate {
  const limiter = new StartLimiter(
    {
      minGapMs: config.timing.delayBetweenImages,
      ...(config.rateLimit.requestsPerMinute
        ? { requestsPerMinute: config.rateLimit.requestsPerMinute }
        : {}),
    },
    clock,
  );
  return new JudgeGate({
    limiter,
    clock,
    signal,
    stopping: () => false,
    headroomUsd: () => config.cost.maxCost,
    onCall,
  });
}
