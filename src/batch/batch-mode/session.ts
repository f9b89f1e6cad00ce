import type { Config } from '../../config/schema.ts';
import { ExitCode, InputError } from '../../errors.ts';
import type { BatchClient, BatchJobInfo } from '../../providers/gemini-batch.ts';
import type { ImageProvider } from '../../providers/types.ts';
import type { JudgeGate } from '../../qa/gate.ts';
import type { VisionReview } from '../../qa/vision-review.ts';
import type { ImageCheck } from '../../quality/index.ts';
import type { Clock } from '../../util/clock.ts';
import type { BatchEvents } from '../events.ts';
import { type PlanItem, resolvePlan } from '../plan.ts';
import { imageKey, type Progress } from '../progress.ts';
import { Session, type Stop } from '../session.ts';
import type { BatchSummary, PlannedImage } from '../types.ts';
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
  events?: BatchEvents | undefined;
  signal?: AbortSignal | undefined;
  /** Gives up on requests in flight of the synchronous fallback (see ExecuteOptions.abandon). */
  abandon?: AbortSignal | undefined;
  check?: ImageCheck | undefined;
  /** The vision judge: batch results that pass the pixel checks are judged (flagged, never repaired). */
  vision?: VisionReview | undefined;
  limits?: ChunkLimits;
  /**
   * Called right after a job is created and before its name is written down. Tests throw here
   * to play a crash at the one moment that could otherwise cost a second job.
   */
  afterCreate?: (job: BatchJobInfo) => void | Promise<void>;
}

export type { Stop } from '../session.ts';

/** A batch-mode step's Session: the Batch API client, the jobs, and prompts resolved again. */
export class BatchSession extends Session {
  /** Paces and caps judge calls made while collecting (created on first use). */
  judgeGate: JudgeGate | undefined;

  constructor(
    override readonly options: BatchModeOptions,
    progress: Progress,
  ) {
    super(options, progress);
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

  /**
   * Ends a step that made no synchronous requests (submitted, or stopped while submitting): the
   * same progress, report and log files a synchronous run leaves, with batch mode's status.
   */
  finish(status: 'submitted' | 'stopped', stop?: Stop): Promise<BatchSummary> {
    const p = this.progress;
    const waiting = this.jobs.filter((j) => j.state !== 'JOB_STATE_SUCCEEDED').length;
    const closing: [string, string] =
      status === 'submitted'
        ? [
            'SUBMITTED',
            `${p.pending.length} image(s) wait in ${waiting} Gemini batch job(s); collect them with: ${this.resumeCommand}`,
          ]
        : [
            'STOPPED',
            `${stop?.reason ?? 'stopped'}; ${p.pending.length} image(s) left pending. ${this.resumeCommand}`,
          ];
    return this.close(
      { status, exitCode: stop ? stop.exitCode : ExitCode.ok, stop, mode: 'batch', model: p.model },
      closing,
    );
  }
}
