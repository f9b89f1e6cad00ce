import type { Config } from '../../config/schema.ts';
import { InputError } from '../../errors.ts';
import type { BatchClient, BatchJobInfo } from '../../providers/gemini-batch.ts';
import type { ImageProvider } from '../../providers/types.ts';
import type { JudgeGate } from '../../qa/gate.ts';
import type { VisionReview } from '../../qa/vision-review.ts';
import { type Clock, systemClock } from '../../util/clock.ts';
import { BatchLog, logFile } from '../batch-log.ts';
import { errorReportFile, recommendations, writeErrorReport } from '../error-report.ts';
import type { BatchEvents } from '../events.ts';
import { type PlanItem, resolvePlan } from '../plan.ts';
import { failureRecords, imageKey, type Progress, progressFile, strip, writeProgress } from '../progress.ts';
import { computeMetrics, type ImageCheck } from '../runner.ts';
import type { BatchSummary, FailureRecord, PlannedImage } from '../types.ts';
import type { ChunkLimits } from './chunk.ts';

/** What every batch-mode entry point needs; the same names as runBatch's RunRequest. */
export interface BatchModeOptions {
  root: string;
  config: Config;
  /** The synchronous provider: fallback for expired jobs and for recoverable per-request errors. */
  provider: ImageProvider;
  /** The Batch API; required whenever a job has to be created or polled. */
  client?: BatchClient | undefined;
  clock?: Clock;
  events?: BatchEvents;
  signal?: AbortSignal;
  check?: ImageCheck;
  /** The vision judge: batch results that pass the pixel checks are judged (flagged, never repaired). */
  vision?: VisionReview;
  limits?: ChunkLimits;
  /**
   * Called right after a job is created and before its name is written down. Tests throw here
   * to play a crash at the one moment that could otherwise cost a second job.
   */
  afterCreate?: (job: BatchJobInfo) => void | Promise<void>;
}

export interface Stop {
  exitCode: 1 | 3;
  reason: string;
}

/** One batch's state while a batch-mode step runs: progress, log, what this run produced. */
export class Session {
  readonly clock: Clock;
  readonly events: BatchEvents;
  readonly log: BatchLog;
  readonly started: number;
  private readonly elapsedBefore: number;
  readonly generated: BatchSummary['generated'] = [];
  readonly failures: FailureRecord[] = [];
  private readonly multiCase: boolean;
  /** Paces and caps judge calls made while collecting (created on first use). */
  judgeGate: JudgeGate | undefined;

  constructor(
    readonly options: BatchModeOptions,
    readonly progress: Progress,
  ) {
    this.clock = options.clock ?? systemClock;
    this.events = options.events ?? {};
    this.log = new BatchLog(logFile(options.root, progress.batchId), this.events.log);
    this.started = this.clock.now();
    this.elapsedBefore = progress.elapsedMs;
    const all = [...progress.completed, ...progress.pending, ...progress.failed];
    this.multiCase = new Set(all.map((i) => i.caseId)).size > 1;
  }

  get batchId(): string {
    return this.progress.batchId;
  }

  get total(): number {
    const p = this.progress;
    return p.completed.length + p.pending.length + p.failed.length;
  }

  get jobs() {
    this.progress.jobs ??= [];
    return this.progress.jobs;
  }

  client(): BatchClient {
    if (!this.options.client) {
      throw new InputError(
        `${this.batchId} has Gemini batch jobs to create or collect: set GEMINI_API_KEY (batch mode needs the gemini provider)`,
        { field: 'mode' },
      );
    }
    return this.options.client;
  }

  say(level: string, message: string): void {
    this.log.write(this.clock.now(), this.batchId, level, message);
  }

  label(image: PlannedImage): string {
    return this.multiCase ? imageKey(image) : (image.suspectId ?? 'scene');
  }

  persist(): Promise<void> {
    this.progress.updatedAt = new Date(this.clock.now()).toISOString();
    this.progress.elapsedMs = this.elapsedBefore + (this.clock.now() - this.started);
    return writeProgress(this.options.root, this.progress);
  }

  /** Current prompts of pending images, by key; images that no longer resolve are failed here. */
  async resolve(images: PlannedImage[]): Promise<Map<string, PlanItem>> {
    const resolved = await resolvePlan(this.options.root, images, { force: true });
    const byKey = new Map(resolved.items.map((i) => [i.key, i]));
    const why = resolved.problems.map((p) => p.message).join('; ');
    for (const image of images) {
      if (byKey.has(imageKey(image))) continue;
      this.fail(image, {
        error: `cannot build its prompt any more: ${why || 'unknown problem'}`,
        errorType: 'validation',
        reason: 'unknown',
        attempts: 0,
        recoverable: false,
      });
    }
    return byKey;
  }

  removePending(image: PlannedImage): void {
    const key = imageKey(image);
    for (const list of [this.progress.pending, this.progress.failed]) {
      const at = list.findIndex((p) => imageKey(p) === key);
      if (at >= 0) list.splice(at, 1);
    }
  }

  fail(image: PlannedImage, f: Omit<FailureRecord, 'type' | 'caseId' | 'suspectId'>): void {
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
    this.say('ERROR', `${this.label(image)} failed: ${f.errorType} - ${f.error}`);
  }

  /**
   * Ends a step that made no synchronous requests (submitted, or stopped while submitting): the
   * same progress, report and log files executeBatch would leave, with batch mode's status.
   */
  async finish(status: 'submitted' | 'stopped', stop?: Stop): Promise<BatchSummary> {
    const { root, config } = this.options;
    const p = this.progress;
    p.status = status;
    if (stop) p.stopReason = stop.reason;
    else delete p.stopReason;
    await this.persist();
    const total = this.total;
    const metrics = computeMetrics(p, total);
    const allFailures = failureRecords(p);
    const resumeCommand = `npx tsx scripts/batch-generate-images.ts --resume ${p.batchId}`;
    const provider = this.options.provider;
    await writeErrorReport(root, {
      batchId: p.batchId,
      generatedAt: new Date(this.clock.now()).toISOString(),
      status,
      ...(stop ? { stopReason: stop.reason } : {}),
      provider: provider.name,
      model: p.model,
      mode: 'batch',
      summary: { total, successful: p.completed.length, failed: p.failed.length, pending: p.pending.length },
      failures: allFailures,
      recommendations: recommendations({
        batchId: p.batchId,
        failures: allFailures,
        metrics,
        ...(stop ? { stopReason: stop.reason } : {}),
        dailyQuotaHit: false,
        costCapHit: false,
        maxCost: config.cost.maxCost,
        resumeCommand,
      }),
      metrics,
    });
    const waiting = this.jobs.filter((j) => j.state !== 'JOB_STATE_SUCCEEDED').length;
    this.say(
      status === 'submitted' ? 'SUBMITTED' : 'STOPPED',
      status === 'submitted'
        ? `${p.pending.length} image(s) wait in ${waiting} Gemini batch job(s); collect them with: ${resumeCommand}`
        : `${stop?.reason ?? 'stopped'}; ${p.pending.length} image(s) left pending. ${resumeCommand}`,
    );
    await this.log.flush();
    const summary: BatchSummary = {
      batchId: p.batchId,
      status,
      ...(stop ? { stopReason: stop.reason } : {}),
      exitCode: stop ? stop.exitCode : 0,
      provider: provider.name,
      model: p.model,
      total,
      successful: p.completed.length,
      failed: p.failed.length,
      pending: p.pending.length,
      costUsd: Math.round(p.costUsd * 10_000) / 10_000,
      metrics,
      generated: this.generated,
      failures: this.failures,
      progressFile: progressFile(root, p.batchId),
      errorReportFile: errorReportFile(root, p.batchId),
      logFile: this.log.file,
    };
    this.events.finish?.(summary);
    return summary;
  }
}
