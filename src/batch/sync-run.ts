import type { Config } from '../config/schema.ts';
import { ExitCode } from '../errors.ts';
import { type Slot, StartLimiter, utcDay } from '../pacing/limiter.ts';
import { isRecoverable } from '../pacing/retry-policy.ts';
import type { GenerationFailure, ImageProvider } from '../providers/types.ts';
import { JudgeGate } from '../qa/gate.ts';
import type { VisionReview } from '../qa/vision-review.ts';
import type { ImageCheck } from '../quality/index.ts';
import { FailureBreaker, type Trip } from './breaker.ts';
import { tallyJudgeCall } from './cost-tally.ts';
import type { PlanItem } from './plan.ts';
import { type Progress, requestsStartedOn } from './progress.ts';
import type { Outcome, Session, SessionOptions, Stop } from './session.ts';

export interface ExecuteOptions extends SessionOptions {
  progress: Progress;
  items: PlanItem[];
  /** Aborts the run (Ctrl-C): nothing new starts, in-flight requests end, the rest stays pending. */
  signal?: AbortSignal | undefined;
  /**
   * Gives up on the requests in flight (a runner about to kill the job): they are aborted, logged
   * as ABANDONED and left pending. A string reason of `signal` becomes the stop reason.
   */
  abandon?: AbortSignal | undefined;
  check?: ImageCheck | undefined;
  /** Redo images that another batch made since this one started (a resume with --force). */
  force?: boolean | undefined;
  /** Requests already started today by earlier runs (for rateLimit.requestsPerDay); default: read from the progress files. */
  startedToday?: number;
  /** The vision judge, run on every image that passes the pixel checks (README, "Vision QA"). */
  vision?: VisionReview | undefined;
  /** Cases whose suspects were made earlier in this batch (batch-mode results): their lineup is judged too. */
  lineupCases?: string[];
  /** One limiter for several batches run one after another (a group of cases in one CI job). */
  limiterShare?: LimiterShare | undefined;
}

/** Holds the limiter the first batch of a group made, so the later ones pace against the same starts. */
export interface LimiterShare {
  limiter?: StartLimiter;
}

/**
 * What the workers of one synchronous run share besides the Session: the limiter, the failure
 * breaker, the judge's gate, the cost reserved by requests in flight, and why the run stops.
 */
export class SyncRun {
  readonly config: Config;
  readonly provider: ImageProvider;
  readonly progress: Progress;
  readonly breaker: FailureBreaker;
  readonly gate: JudgeGate;
  /** The offline placeholder has no API to protect, so it is not paced. */
  readonly paced: boolean;
  readonly timing: Config['timing'];
  stop: Stop | undefined;
  private tripped: Trip | undefined;
  private dailyQuotaHit = false;
  private costCapHit = false;
  private reservedUsd = 0;
  /** The cap is per run: a batch stopped by it goes on when resumed on another day. */
  private readonly costAtStart: number;

  private constructor(
    readonly session: Session,
    readonly options: ExecuteOptions,
    readonly limiter: StartLimiter,
  ) {
    this.config = options.config;
    this.provider = options.provider;
    this.progress = session.progress;
    this.paced = isPaced(options.provider);
    this.timing = timingOf(options);
    this.breaker = new FailureBreaker(options.config.retry);
    this.costAtStart = session.progress.costUsd;
    // Judge calls share the limiter and the cost cap with image calls.
    this.gate = new JudgeGate({
      limiter,
      clock: session.clock,
      signal: options.signal,
      stopping: () => this.stop !== undefined,
      headroomUsd: () => this.config.cost.maxCost - this.spentUsd(),
      onCall: (usd) => tallyJudgeCall(this.progress, usd),
    });
  }

  static async open(session: Session, options: ExecuteOptions): Promise<SyncRun> {
    const { config, provider } = options;
    const { rateLimit } = config;
    const clock = session.clock;
    const share: LimiterShare = options.limiterShare ?? {};
    share.limiter ??= new StartLimiter(
      isPaced(provider)
        ? {
            minGapMs: timingOf(options).delayBetweenImages,
            ...(rateLimit.requestsPerMinute ? { requestsPerMinute: rateLimit.requestsPerMinute } : {}),
            ...(rateLimit.requestsPerDay ? { requestsPerDay: rateLimit.requestsPerDay } : {}),
            startedToday:
              options.startedToday ??
              (rateLimit.requestsPerDay ? await requestsStartedOn(options.root, utcDay(clock.now())) : 0),
          }
        : { minGapMs: 0 },
      clock,
    );
    return new SyncRun(session, options, share.limiter);
  }

  /** True once nothing new may start: a stop, or Ctrl-C. */
  stopping(): boolean {
    return this.stop !== undefined || Boolean(this.options.signal?.aborted);
  }

  private spentUsd(): number {
    return this.progress.costUsd - this.costAtStart + this.reservedUsd;
  }

  halt(next: Stop): void {
    // A concurrent auth/billing stop (exit 1) outranks a planned stop (exit 3).
    if (this.stop && !(next.exitCode === ExitCode.someFailed && this.stop.exitCode === ExitCode.stoppedEarly))
      return;
    this.stop = next;
    const s = this.session;
    s.say(
      'STOPPED',
      `${next.reason}; ${this.progress.pending.length} image(s) left pending. ${s.resumeCommand}`,
    );
    s.events.stopped?.(next.reason);
  }

  /** The breaker's stop keeps its advice for the error report. True when it tripped. */
  trip(t: Trip | undefined): boolean {
    if (!t || this.stop) return Boolean(t);
    this.tripped = t;
    this.halt(t);
    return true;
  }

  /** A daily quota met (the limiter's, or the server's): stops the run, said in the report. */
  dailyQuota(stop?: Stop): void {
    this.dailyQuotaHit = true;
    if (stop) this.halt(stop);
  }

  /**
   * Reserves one image's price against the cost cap and waits for a start slot, then counts the
   * request. Undefined when none may start; unless `quiet` (a repair), a cap about to be passed
   * or a spent daily quota stops the run.
   */
  async startRequest(quiet = false): Promise<Slot | undefined> {
    const price = this.provider.costPerImage;
    if (this.spentUsd() + this.gate.committedUsd + price > this.config.cost.maxCost + 1e-9) {
      if (quiet) return undefined;
      this.costCapHit = true;
      this.halt({
        exitCode: ExitCode.stoppedEarly,
        reason: `the cost cap of $${this.config.cost.maxCost.toFixed(2)} would be passed`,
      });
      return undefined;
    }
    this.reservedUsd += price;
    const slot = await this.limiter.acquire(this.options.signal);
    if (!slot || this.stopping()) {
      this.reservedUsd -= price;
      if (!slot && !quiet && this.limiter.dayExhausted()) {
        this.dailyQuota({
          exitCode: ExitCode.stoppedEarly,
          reason: `rateLimit.requestsPerDay (${this.config.rateLimit.requestsPerDay}) is reached`,
        });
      }
      return undefined;
    }
    this.progress.apiCalls += 1;
    if (this.paced) {
      const day = utcDay(this.session.clock.now());
      this.progress.requestsByDay[day] = (this.progress.requestsByDay[day] ?? 0) + 1;
    }
    return slot;
  }

  /** A request started by startRequest has ended: its reservation is released. */
  endRequest(): void {
    this.reservedUsd -= this.provider.costPerImage;
  }

  /** An image given up: failed, logged, persisted, and counted by the breaker. */
  async fail(item: PlanItem, failure: GenerationFailure, attempts: number): Promise<void> {
    const s = this.session;
    s.fail(
      item,
      {
        error: failure.message,
        errorType: failure.errorType,
        reason: failure.reason,
        attempts,
        recoverable: isRecoverable(failure),
      },
      `${s.label(item)} failed after ${attempts} attempt(s): ${failure.errorType} - ${failure.message}`,
    );
    s.events.imageFailed?.(item, failure);
    await s.persist();
    this.trip(this.breaker.imageFinished(failure.errorType));
  }

  /** How the run ended, once every worker is done. */
  outcome(): Outcome {
    const p = this.progress;
    const met = {
      dailyQuotaHit: this.dailyQuotaHit,
      costCapHit: this.costCapHit,
      breakerAdvice: this.tripped?.advice,
    };
    const common = { mode: p.mode, model: this.provider.model, met };
    if (this.stop) return { ...common, status: 'stopped', exitCode: this.stop.exitCode, stop: this.stop };
    if (p.failed.length > 0 || p.pending.length > 0)
      return { ...common, status: 'completed_with_failures', exitCode: ExitCode.someFailed };
    return { ...common, status: 'completed', exitCode: ExitCode.ok };
  }
}

function isPaced(provider: ImageProvider): boolean {
  return provider.name !== 'placeholder';
}

/** config.timing with the batch file's own delay and concurrency. */
function timingOf(options: ExecuteOptions): Config['timing'] {
  const own = options.progress.options;
  return {
    ...options.config.timing,
    ...(own.delay !== undefined ? { delayBetweenImages: own.delay } : {}),
    ...(own.maxConcurrent !== undefined ? { maxConcurrent: own.maxConcurrent } : {}),
  };
}
