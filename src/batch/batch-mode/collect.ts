import { readdir } from 'node:fs/promises';
import { InputError } from '../../errors.ts';
import { isRecoverable } from '../../pacing/retry-policy.ts';
import {
  BatchApiError,
  type BatchJobInfo,
  FINAL_JOB_STATES,
  JOB_STATE,
} from '../../providers/gemini-batch.ts';
import type { GeneratedImage } from '../../providers/types.ts';
import { standaloneGate } from '../../qa/gate.ts';
import { requestedProvenance, tallyActual, tallyJudgeCall } from '../cost-tally.ts';
import type { PlanItem } from '../plan.ts';
import type { BatchJobRecord } from '../progress.ts';
import { imageKey, type Progress, progressDir, readProgress } from '../progress.ts';
import { executeBatch } from '../runner.ts';
import { saveImage } from '../save-image.ts';
import type { BatchSummary } from '../types.ts';
import { type BatchModeOptions, BatchSession } from './session.ts';
import { CREATING, submitPending } from './submit.ts';

export interface CollectOptions extends BatchModeOptions {
  progress: Progress;
  /** An explicit --resume also retries recoverable failures, as a synchronous resume does. */
  retryRecoverable?: boolean;
}

function isLive(job: BatchJobRecord): boolean {
  return job.state === CREATING || !FINAL_JOB_STATES.has(job.state);
}

/**
 * One pass over a batch-mode batch: creates jobs a crash or a stop left uncreated, polls every
 * unfinished job, saves what finished jobs returned, and once no job is left running generates
 * what is still missing synchronously. Ends `submitted` (exit 0) while any job still runs.
 */
export async function collectBatch(options: CollectOptions): Promise<BatchSummary> {
  const s = new BatchSession(options, options.progress);
  const progress = s.progress;
  progress.status = 'running';

  const stop = await submitPending(s);
  if (stop) return s.finish('stopped', stop);

  for (const job of s.jobs) {
    if (!job.name || !isLive(job)) continue;
    let info: BatchJobInfo;
    try {
      info = await s.client().get(job.name);
    } catch (error) {
      if (!(error instanceof BatchApiError)) throw error;
      const f = error.failure;
      if (f.errorType === 'auth' || f.errorType === 'billing') {
        return s.finish('stopped', { exitCode: 1, reason: `polling ${job.name} failed: ${f.message}` });
      }
      if (f.status === 404 || f.errorType === 'validation') {
        // The server does not know the job (deleted, or another project's): treat it as failed,
        // so its images fall back to synchronous generation instead of waiting for ever.
        s.say(
          'BATCH',
          `${job.name} is unknown to the server (${f.message}); its images go to synchronous generation`,
        );
        job.state = JOB_STATE.failed;
        await s.persist();
        continue;
      }
      s.say(
        'WARN',
        `polling ${job.name} failed (${f.errorType} - ${f.message}); it is asked again next time`,
      );
      continue;
    }
    if (!FINAL_JOB_STATES.has(info.state)) {
      if (info.state !== job.state) {
        job.state = info.state;
        await s.persist();
      }
      s.say(
        'WAITING',
        `${job.displayName} (${job.name}) is ${info.state.replace('JOB_STATE_', '').toLowerCase()}`,
      );
      continue;
    }
    await harvest(s, job, info);
    // Recorded only after every result is saved: a crash in between collects the job again.
    job.state = info.state;
    await s.persist();
  }

  if (s.jobs.some(isLive)) return s.finish('submitted');
  return finishSynchronously(s, options.retryRecoverable ?? false);
}

/** Saves a finished job's images like synchronous ones; leaves retryable ones pending. */
async function harvest(s: BatchSession, job: BatchJobRecord, info: BatchJobInfo): Promise<void> {
  const { root, check } = s.options;
  const progress = s.progress;
  const pending = progress.pending.filter((p) => job.keys.includes(imageKey(p)));
  const state = info.state.replace('JOB_STATE_', '').toLowerCase();
  if (info.state !== JOB_STATE.succeeded) {
    s.say(
      'BATCH',
      `${job.displayName} (${job.name}) ${state}: ${info.results?.length ?? 0} result(s) returned, ${pending.length} image(s) go to synchronous generation`,
    );
  }
  if (pending.length === 0 || !info.results) return;
  const items = await s.resolve(pending);
  const answered = new Set<string>();
  for (const { key, result } of info.results) {
    if (!key || answered.has(key)) continue;
    const item = items.get(key);
    if (!item || !progress.pending.some((p) => imageKey(p) === key)) continue;
    answered.add(key);
    progress.apiCalls += 1;
    if (result.ok) {
      tallyActual(progress, result, 'batch');
      const quality = check ? await check(item, result.bytes) : [];
      progress.costUsd += result.costUsd;
      if (quality.length > 0) {
        progress.retries += 1;
        s.say(
          'RETRY',
          `${s.label(item)} failed quality checks (${quality.join(', ')}); generating it again synchronously`,
        );
        continue;
      }
      const reviewed = await judgeBatchResult(s, item, result);
      const saved = await saveImage(root, item.caseId, item.imageId, reviewed?.image ?? result, {
        batchId: progress.batchId,
        promptHash: item.promptHash,
        attempts: 1,
        generatedAt: s.now(),
        mode: 'batch',
        quality,
        provenance: requestedProvenance(item),
        ...(reviewed ? { vision: reviewed.verdict } : {}),
      });
      await s.complete(item, { file: saved.file, costUsd: result.costUsd, attempts: 1 }, ' (batch)');
      continue;
    }
    // The error table (README, "What happens on errors"): validation is never retried; everything
    // else gets synchronous attempts.
    if (!isRecoverable(result)) {
      s.fail(item, {
        error: result.message,
        errorType: result.errorType,
        reason: result.reason,
        attempts: 1,
        recoverable: false,
      });
      s.events.imageFailed?.(item, result);
      await s.persist();
      continue;
    }
    progress.retries += 1;
    s.say(
      'RETRY',
      `${s.label(item)} failed in the batch job (${result.errorType} - ${result.message}); generating it synchronously`,
    );
  }
  const unanswered = pending.filter((p) => !answered.has(imageKey(p)) && items.has(imageKey(p)));
  if (info.state === JOB_STATE.succeeded && unanswered.length > 0) {
    s.say(
      'WARN',
      `${job.displayName} returned nothing for ${unanswered.map((p) => s.label(p)).join(', ')}; generating synchronously`,
    );
  }
}

/**
 * A batch result that passed the pixel checks goes to the vision judge like a synchronous one.
 * It is flagged, never repaired here: a repair would be a full-price synchronous call, which is
 * what batch mode is chosen to avoid.
 */
async function judgeBatchResult(s: BatchSession, item: PlanItem, image: GeneratedImage) {
  const vision = s.options.vision;
  if (!vision) return undefined;
  s.judgeGate ??= standaloneGate(
    s.options.config,
    s.clock,
    (usd) => tallyJudgeCall(s.progress, usd),
    s.options.signal,
  );
  const reviewed = await vision.review(item, image, { gate: s.judgeGate });
  s.reportVerdict(item, reviewed.verdict);
  return reviewed;
}

/**
 * No job runs any more: whatever is still pending (dead jobs, retryable per-request errors, images
 * the cost cap held back) is generated synchronously. executeBatch also writes the report and
 * the final status, with the batch's mode, so one code path ends every batch.
 */
async function finishSynchronously(s: BatchSession, retryRecoverable: boolean): Promise<BatchSummary> {
  const { root, config, provider } = s.options;
  const progress = s.progress;
  if (retryRecoverable) {
    for (const f of progress.failed.filter((x) => x.recoverable)) {
      progress.failed.splice(progress.failed.indexOf(f), 1);
      const { error: _e, errorType: _t, reason: _r, attempts: _a, recoverable: _c, ...image } = f;
      progress.pending.push(image);
    }
  }
  const items = await s.resolve([...progress.pending]);
  const todo = progress.pending.flatMap((p) => items.get(imageKey(p)) ?? []);
  if (todo.length > 0)
    s.say('SYNC', `${todo.length} image(s) left after the batch jobs: generating them synchronously`);
  await s.persist();
  await s.log.flush();
  const events = { ...s.events };
  delete events.finish;
  const summary = await executeBatch({
    root,
    config,
    provider,
    progress,
    items: todo,
    clock: s.clock,
    events,
    signal: s.options.signal,
    abandon: s.options.abandon,
    check: s.options.check,
    vision: s.options.vision,
    lineupCases: [...new Set(s.generated.filter((g) => g.imageId !== 'scene').map((g) => g.caseId))],
  });
  const merged: BatchSummary = {
    ...summary,
    model: progress.model,
    generated: [...s.generated, ...summary.generated],
    failures: [...s.failures, ...summary.failures],
  };
  s.events.finish?.(merged);
  return merged;
}

/**
 * The nightly run's first step: collects every batch-mode batch whose jobs were submitted (or
 * whose submission or collection was interrupted), oldest first. Batches still waiting stay
 * `submitted`; a batch that cannot be read is reported and skipped, never blocks the others.
 */
export async function collectSubmitted(
  root: string,
  options: Omit<BatchModeOptions, 'root'> & { warn?: (message: string) => void },
): Promise<BatchSummary[]> {
  let names: string[];
  try {
    names = await readdir(progressDir(root));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: BatchSummary[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    let progress: Progress;
    try {
      progress = await readProgress(root, name.slice(0, -5));
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      options.warn?.(`skipped ${name}: ${error.message}`);
      continue;
    }
    if (!isCollectable(progress)) continue;
    out.push(await collectBatch({ ...options, root, progress }));
  }
  return out;
}

/** A batch-mode batch with jobs to poll or to create. */
export function isCollectable(progress: Progress): boolean {
  if (progress.mode !== 'batch') return false;
  if (progress.status === 'submitted') return true;
  // `running` on disk means the process died while submitting or collecting; `stopped` or a
  // finished status with a job still alive means a stop came after a job was created. Either way
  // the job's images are paid for and must be collected, not planned again.
  return (progress.jobs ?? []).some(isLive);
}
