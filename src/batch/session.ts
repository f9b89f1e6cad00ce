import type { VisionVerdict } from '../cases/provenance.ts';
import type { Config } from '../config/schema.ts';
import type { StopExitCode } from '../errors.ts';
import type { ImageProvider } from '../providers/types.ts';
import { summary as verdictSummary } from '../qa/vision-review.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { roundTo, roundUsd } from '../util/money.ts';
import { BatchLog, logFile } from './batch-log.ts';
import { extraMetrics, tallyVerdict } from './cost-tally.ts';
import { recommendations, writeErrorReport } from './error-report.ts';
import type { BatchEvents } from './events.ts';
import type { PlanItem } from './plan.ts';
import {
  failureRecords,
  imageKey,
  type Progress,
  progressFile,
  resumeCommand,
  strip,
  writeProgress,
} from './progress.ts';
import type { BatchMetrics, BatchStatus, BatchSummary, FailureRecord, PlannedImage } from './types.ts';

/** What every run of the engine needs, synchronous or batch mode. */
export interface SessionOptions {
  root: string;
  config: Config;
  provider: ImageProvider;
  clock?: Clock;
  events?: BatchEvents | undefined;
}

/** Why a run ended early: a planned stop (exit 3) or one that needs a person (exit 1). */
export interface Stop {
  exitCode: StopExitCode;
  reason: string;
}

/** How a run ended, for the progress file, the error report and the summary. */
export interface Outcome {
  status: BatchStatus;
  exitCode: BatchSummary['exitCode'];
  stop?: Stop | undefined;
  mode: 'sync' | 'batch';
  model: string;
  /** What this run met, for the report's recommendations. */
  met?: { dailyQuotaHit: boolean; costCapHit: boolean; breakerAdvice?: string | undefined };
}

/**
 * The one record of a batch while a run works on it, shared by the synchronous engine and batch
 * mode: the progress file (writes chained), the log, what this run made and failed, and how the
 * run ends (progress status, error report, summary). docs/ARCHITECTURE.md, "The life of a run".
 */
export class Session {
  readonly clock: Clock;
  readonly events: BatchEvents;
  readonly log: BatchLog;
  readonly started: number;
  private readonly elapsedBefore: number;
  readonly generated: BatchSummary['generated'] = [];
  readonly failures: FailureRecord[] = [];
  private readonly multiCase: boolean;
  private persistChain: Promise<void> = Promise.resolve();
  private frozenTotal: number | undefined;

  /** `labelled`: the images whose cases decide whether log lines name the case (default: all). */
  constructor(
    readonly options: SessionOptions,
    readonly progress: Progress,
    labelled?: readonly PlannedImage[],
  ) {
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? {};
    this.log = new BatchLog(logFile(options.root, progress.batchId), this.events.log);
    this.started = this.clock.now();
    this.elapsedBefore = progress.elapsedMs;
    const all = labelled ?? [...progress.completed, ...progress.pending, ...progress.failed];
    this.multiCase = new Set(all.map((i) => i.caseId)).size > 1;
  }

  get batchId(): string {
    return this.progress.batchId;
  }

  get total(): number {
    if (this.frozenTotal !== undefined) return this.frozenTotal;
    const p = this.progress;
    return p.completed.length + p.pending.length + p.failed.length;
  }

  /**
   * A synchronous run counts against the batch as it was when the run began: an image skipped
   * because another batch made it meanwhile still counts in `N/total`.
   */
  freezeTotal(): void {
    this.frozenTotal = this.total;
  }

  get resumeCommand(): string {
    return resumeCommand(this.batchId);
  }

  now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  say(level: string, message: string): void {
    this.log.write(this.clock.now(), this.batchId, level, message);
  }

  label(image: PlannedImage): string {
    return this.multiCase ? imageKey(image) : (image.suspectId ?? 'scene');
  }

  /** A vision verdict, counted in the progress file and, when the image was flagged or not judged, said in the log. */
  reportVerdict(item: PlannedImage, verdict: VisionVerdict): void {
    tallyVerdict(this.progress, verdict);
    if (verdict.status === 'fail') {
      this.say('QA', `${this.label(item)} flagged by vision QA: ${verdictSummary(verdict)}`);
    } else if (verdict.status === 'not-judged') {
      this.say('QA', `${this.label(item)} not judged: ${verdict.reason}`);
    }
  }

  /** Writes the progress file; writes are chained so a slower one never lands after a newer one. */
  persist(): Promise<void> {
    this.progress.updatedAt = this.now();
    this.progress.elapsedMs = this.elapsedBefore + (this.clock.now() - this.started);
    const snapshot = structuredClone(this.progress);
    this.persistChain = this.persistChain.then(() => writeProgress(this.options.root, snapshot));
    return this.persistChain;
  }

  removePending(image: PlannedImage): void {
    const key = imageKey(image);
    for (const list of [this.progress.pending, this.progress.failed]) {
      const at = list.findIndex((p) => imageKey(p) === key);
      if (at >= 0) list.splice(at, 1);
    }
  }

  /** Moves an image to `failed` and logs `line` (default: `<label> failed: <type> - <error>`). */
  fail(image: PlannedImage, f: Omit<FailureRecord, 'type' | 'caseId' | 'suspectId'>, line?: string): void {
    const record: FailureRecord = {
      type: image.type,
      caseId: image.caseId,
      ...(image.suspectId ? { suspectId: image.suspectId } : {}),
      ...f,
    };
    const planned = this.progress.pending.find((p) => imageKey(p) === imageKey(image)) ?? image;
    this.removePending(image);
    this.progress.failed.push({ ...strip(planned), ...record });
    this.failures.push(record);
    this.say('ERROR', line ?? `${this.label(image)} failed: ${f.errorType} - ${f.error}`);
  }

  /** A saved image (its cost already counted): completed, logged (`suffix` marks batch results) and persisted. */
  async complete(
    item: PlanItem,
    made: { file: string; costUsd: number; attempts: number },
    suffix = '',
  ): Promise<void> {
    this.removePending(item);
    this.progress.completed.push(strip(item));
    this.generated.push({ caseId: item.caseId, imageId: item.imageId, ...made });
    const done = this.progress.completed.length;
    const total = this.total;
    const pct = total ? Math.round((done / total) * 100) : 100;
    this.say('PROGRESS', `${done}/${total} (${pct}%) - ${this.label(item)} complete${suffix}`);
    this.events.imageDone?.(item, { done, total });
    await this.persist();
  }

  /**
   * Ends the run: the progress file's status, the error report, the closing log line and the
   * summary handed to the face. Every run ends here, synchronous or batch mode.
   */
  async close(outcome: Outcome, closing: [level: string, message: string]): Promise<BatchSummary> {
    const { root, config, provider } = this.options;
    const p = this.progress;
    const { status, stop } = outcome;
    p.status = status;
    if (stop) p.stopReason = stop.reason;
    else delete p.stopReason;
    await this.persist();
    const total = this.total;
    const counts = { successful: p.completed.length, failed: p.failed.length, pending: p.pending.length };
    const metrics = computeMetrics(p, total);
    const allFailures = failureRecords(p);
    const stopReason = stop ? { stopReason: stop.reason } : {};
    const errorReportFile = await writeErrorReport(root, {
      batchId: p.batchId,
      generatedAt: this.now(),
      status,
      ...stopReason,
      provider: provider.name,
      model: outcome.model,
      mode: outcome.mode,
      summary: { total, ...counts },
      failures: allFailures,
      recommendations: recommendations({
        batchId: p.batchId,
        failures: allFailures,
        metrics,
        ...stopReason,
        ...(outcome.met?.breakerAdvice ? { breakerAdvice: outcome.met.breakerAdvice } : {}),
        dailyQuotaHit: outcome.met?.dailyQuotaHit ?? false,
        costCapHit: outcome.met?.costCapHit ?? false,
        maxCost: config.cost.maxCost,
        resumeCommand: this.resumeCommand,
      }),
      metrics,
    });
    this.say(...closing);
    await this.log.flush();
    const summary: BatchSummary = {
      batchId: p.batchId,
      status,
      ...stopReason,
      exitCode: outcome.exitCode,
      provider: provider.name,
      model: outcome.model,
      total,
      ...counts,
      costUsd: roundUsd(p.costUsd),
      metrics,
      generated: this.generated,
      failures: this.failures,
      progressFile: progressFile(root, p.batchId),
      errorReportFile,
      logFile: this.log.file,
    };
    this.events.finish?.(summary);
    return summary;
  }
}

/** The error report's metrics (README, "What a run leaves behind"). */
function computeMetrics(progress: Progress, total: number): BatchMetrics {
  const successful = progress.completed.length;
  return {
    totalImages: total,
    successful,
    failed: progress.failed.length,
    skipped: 0,
    pending: progress.pending.length,
    totalTimeMs: Math.round(progress.elapsedMs),
    averageTimePerImageMs: successful ? Math.round(progress.elapsedMs / successful) : 0,
    apiCalls: progress.apiCalls,
    retries: progress.retries,
    retryRate: progress.apiCalls ? roundTo(progress.retries / progress.apiCalls, 4) : 0,
    rateLimitHits: progress.rateLimitHits,
    estimatedCostUsd: roundUsd(progress.costUsd),
    ...extraMetrics(progress),
  };
}
