import { readManifest } from '../cases/manifest-store.ts';
import { imagesDir } from '../cases/paths.ts';
import type { VisionVerdict } from '../cases/provenance.ts';
import type { Config } from '../config/schema.ts';
import type { GenerationFailure, ImageProvider } from '../providers/types.ts';
import { JudgeGate } from '../qa/gate.ts';
import { type VisionReview, summary as verdictSummary } from '../qa/vision-review.ts';
import { removeStaleTemps } from '../util/atomic-write.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { BatchLog, logFile } from './batch-log.ts';
import { FailureBreaker, type Trip } from './breaker.ts';
import {
  emptyJudgeTally,
  extraMetrics,
  requestedProvenance,
  tallyActual,
  tallyJudgeCall,
  tallyVerdict,
} from './cost-tally.ts';
import { errorReportFile, recommendations, writeErrorReport } from './error-report.ts';
import type { BatchEvents } from './events.ts';
import { StartLimiter, utcDay } from './limiter.ts';
import type { PlanItem } from './plan.ts';
import {
  type FailedImage,
  failureRecords,
  imageKey,
  type Progress,
  progressDir,
  progressFile,
  requestsStartedOn,
  strip,
  writeProgress,
} from './progress.ts';
import { decide, isRecoverable } from './retry-policy.ts';
import { adoptOrphan, saveImage } from './save-image.ts';
import type { BatchMetrics, BatchSummary, FailureRecord, PlannedImage } from './types.ts';

/** Checks a fresh image before it is saved; returns the names of failed checks (empty = good). */
export type ImageCheck = (item: PlanItem, bytes: Uint8Array) => Promise<string[]> | string[];

/** Holds the limiter the first batch of a group made, so the later ones pace against the same starts. */
export interface LimiterShare {
  limiter?: StartLimiter;
}

export interface ExecuteOptions {
  root: string;
  config: Config;
  provider: ImageProvider;
  progress: Progress;
  items: PlanItem[];
  clock?: Clock;
  events?: BatchEvents;
  /** Aborts the run (Ctrl-C): nothing new starts, in-flight requests end, the rest stays pending. */
  signal?: AbortSignal;
  /**
   * Gives up on the requests in flight (a runner about to kill the job): they are aborted, logged
   * as ABANDONED and left pending. A string reason of `signal` becomes the stop reason.
   */
  abandon?: AbortSignal;
  check?: ImageCheck;
  /** Redo images that another batch made since this one started (a resume with --force). */
  force?: boolean;
  /** Requests already started today by earlier runs (for rateLimit.requestsPerDay); default: read from the progress files. */
  startedToday?: number;
  /** One limiter for several batches run one after another (a group of cases in one CI job). */
  limiterShare?: LimiterShare;
  /** How a user resumes this batch, for logs and recommendations. */
  resumeCommand?: string;
  /** The vision judge, run on every image that passes the pixel checks (README, "Vision QA"). */
  vision?: VisionReview | undefined;
  /** Cases whose suspects were made earlier in this batch (batch-mode results): their lineup is judged too. */
  lineupCases?: string[];
}

interface Stop {
  exitCode: 1 | 3;
  reason: string;
}

/**
 * Runs the items of a claimed batch under the limiter and the retry policy, saving each image
 * and the progress file as it finishes. Safe to call again on the same progress (resume).
 */
export async function executeBatch(options: ExecuteOptions): Promise<BatchSummary> {
  const { root, config, provider, progress, items } = options;
  const clock = options.clock ?? systemClock;
  const events = options.events ?? {};
  const batchId = progress.batchId;
  const resumeCommand =
    options.resumeCommand ?? `npx tsx scripts/batch-generate-images.ts --resume ${batchId}`;
  const log = new BatchLog(logFile(root, batchId), events.log);
  const say = (level: string, message: string) => log.write(clock.now(), batchId, level, message);

  const timing = {
    ...config.timing,
    ...(progress.options.delay !== undefined ? { delayBetweenImages: progress.options.delay } : {}),
    ...(progress.options.maxConcurrent !== undefined
      ? { maxConcurrent: progress.options.maxConcurrent }
      : {}),
  };
  const stopOnError = progress.options.stopOnError ?? false;
  // The offline placeholder has no API to protect, so it is not paced.
  const paced = provider.name !== 'placeholder';
  const share: LimiterShare = options.limiterShare ?? {};
  share.limiter ??= new StartLimiter(
    paced
      ? {
          minGapMs: timing.delayBetweenImages,
          ...(config.rateLimit.requestsPerMinute
            ? { requestsPerMinute: config.rateLimit.requestsPerMinute }
            : {}),
          ...(config.rateLimit.requestsPerDay ? { requestsPerDay: config.rateLimit.requestsPerDay } : {}),
          startedToday:
            options.startedToday ??
            (config.rateLimit.requestsPerDay ? await requestsStartedOn(root, utcDay(clock.now())) : 0),
        }
      : { minGapMs: 0 },
    clock,
  );
  const limiter = share.limiter;

  const breaker = new FailureBreaker(config.retry);
  let tripped: Trip | undefined;

  const multiCase = new Set(items.map((i) => i.caseId)).size > 1;
  const label = (item: PlannedImage) => (multiCase ? imageKey(item) : (item.suspectId ?? 'scene'));
  const started = clock.now();
  const elapsedBefore = progress.elapsedMs;
  const total = progress.completed.length + progress.pending.length + progress.failed.length;
  const generated: BatchSummary['generated'] = [];
  const failuresThisRun: FailureRecord[] = [];
  let stop: Stop | undefined;
  let dailyQuotaHit = false;
  let costCapHit = false;
  let reservedCost = 0;
  // The cap is per run: a batch stopped by it goes on when resumed on another day.
  const costAtStart = progress.costUsd;
  let persistChain: Promise<void> = Promise.resolve();
  // Judge calls share the limiter and the cost cap with image calls.
  const gate = new JudgeGate({
    limiter,
    clock,
    signal: options.signal,
    stopping: () => stop !== undefined,
    headroomUsd: () => config.cost.maxCost - (progress.costUsd - costAtStart + reservedCost),
    onCall: (usd) => tallyJudgeCall(progress, usd),
  });
  const vision = options.vision;

  // Progress writes are chained so a slower write can never land after a newer one.
  const persist = () => {
    progress.updatedAt = new Date(clock.now()).toISOString();
    progress.elapsedMs = elapsedBefore + (clock.now() - started);
    const snapshot = structuredClone(progress);
    persistChain = persistChain.then(() => writeProgress(root, snapshot));
    return persistChain;
  };
  const removeFrom = (list: PlannedImage[], item: PlannedImage) => {
    const key = imageKey(item);
    const at = list.findIndex((p) => imageKey(p) === key);
    if (at >= 0) list.splice(at, 1);
  };
  const halt = (next: Stop) => {
    // A concurrent auth/billing stop (exit 1) outranks a planned stop (exit 3).
    if (stop && !(next.exitCode === 1 && stop.exitCode === 3)) return;
    stop = next;
    say('STOPPED', `${next.reason}; ${progress.pending.length} image(s) left pending. ${resumeCommand}`);
    events.stopped?.(next.reason);
  };
  // The breaker's stop keeps its advice for the error report.
  const trip = (t: Trip | undefined) => {
    if (!t || stop) return Boolean(t);
    tripped = t;
    halt(t);
    return true;
  };

  progress.status = 'running';
  say(
    'START',
    `${items.length} image(s) to generate (${total} in batch) with ${provider.name}/${provider.model}, ` +
      `maxConcurrent ${timing.maxConcurrent}, ` +
      (paced ? `delay ${timing.delayBetweenImages}ms` : 'not paced (offline)'),
  );
  events.start?.({ batchId, total, done: progress.completed.length, toDo: items.length });

  for (const caseId of new Set(items.map((i) => i.caseId))) await removeStaleTemps(imagesDir(root, caseId));
  await removeStaleTemps(progressDir(root));

  // After a crash, images finished before the progress file said so are adopted, not re-requested.
  const todo: PlanItem[] = [];
  for (const item of items) {
    const adopted = await adoptOrphan(
      root,
      item.caseId,
      item.imageId,
      progress.createdAtMs,
      { provider: provider.name, model: provider.model, costUsd: provider.costPerImage },
      {
        batchId,
        promptHash: item.promptHash,
        attempts: 1,
        generatedAt: new Date(clock.now()).toISOString(),
        mode: 'sync',
        quality: [],
      },
    );
    if (adopted) {
      removeFrom(progress.pending, item);
      removeFrom(progress.failed, item);
      progress.completed.push(strip(item));
      progress.costUsd += provider.costPerImage;
      say('RECOVERED', `${label(item)} was finished before the interruption (${adopted})`);
      continue;
    }
    // Made by another batch since this one started (say a nightly fix): not paid for twice.
    const entry = options.force ? undefined : (await readManifest(root, item.caseId)).images[item.imageId];
    if (entry && entry.batchId !== batchId && Date.parse(entry.generatedAt) > progress.createdAtMs) {
      removeFrom(progress.pending, item);
      say(
        'SKIPPED',
        `${label(item)} was made by ${entry.batchId} since this batch started (--force to redo it)`,
      );
      continue;
    }
    todo.push(item);
  }
  if (vision) {
    vision.planRun(todo.length);
    say('QA', vision.describe());
  }
  await persist();

  const fail = async (item: PlanItem, failure: GenerationFailure, attempts: number) => {
    const record: FailureRecord = {
      type: item.type,
      caseId: item.caseId,
      ...(item.suspectId ? { suspectId: item.suspectId } : {}),
      error: failure.message,
      errorType: failure.errorType,
      reason: failure.reason,
      attempts,
      recoverable: isRecoverable(failure),
    };
    failuresThisRun.push(record);
    removeFrom(progress.pending, item);
    removeFrom(progress.failed, item);
    const failed: FailedImage = { ...strip(item), ...record };
    progress.failed.push(failed);
    say(
      'ERROR',
      `${label(item)} failed after ${attempts} attempt(s): ${failure.errorType} - ${failure.message}`,
    );
    events.imageFailed?.(item, failure);
    await persist();
    trip(breaker.imageFinished(failure.errorType));
  };

  const processItem = async (item: PlanItem) => {
    const maxAttempts = item.retries ?? config.retry.maxAttempts;
    let requests = 0;
    let failedAttempts = 0;
    let rateLimited = 0;
    let lastQuality: string[] = [];
    for (;;) {
      if (stop || options.signal?.aborted) return;
      if (
        progress.costUsd - costAtStart + reservedCost + gate.committedUsd + provider.costPerImage >
        config.cost.maxCost + 1e-9
      ) {
        costCapHit = true;
        halt({ exitCode: 3, reason: `the cost cap of $${config.cost.maxCost.toFixed(2)} would be passed` });
        return;
      }
      reservedCost += provider.costPerImage;
      const slot = await limiter.acquire(options.signal);
      if (!slot) {
        reservedCost -= provider.costPerImage;
        if (limiter.dayExhausted()) {
          dailyQuotaHit = true;
          halt({
            exitCode: 3,
            reason: `rateLimit.requestsPerDay (${config.rateLimit.requestsPerDay}) is reached`,
          });
        }
        return;
      }
      if (stop || options.signal?.aborted) {
        reservedCost -= provider.costPerImage;
        return;
      }
      const startedAt = clock.now();
      requests += 1;
      progress.apiCalls += 1;
      if (paced) {
        const day = utcDay(startedAt);
        progress.requestsByDay[day] = (progress.requestsByDay[day] ?? 0) + 1;
      }
      events.imageStart?.(item, requests);
      const result = await provider.generate({
        kind: item.type,
        caseId: item.caseId,
        imageId: item.imageId,
        prompt: item.prompt,
        aspectRatio: item.aspectRatio,
        ...(item.style ? { references: [item.style] } : {}),
        // Not the Ctrl-C signal: an image the server is already making is paid for, so it is
        // waited for (up to the request timeout) unless the run is abandoned.
        ...(options.abandon ? { signal: options.abandon } : {}),
      });
      reservedCost -= provider.costPerImage;
      limiter.observe(slot, result, failedAttempts > 0);
      if (!result.ok && options.abandon?.aborted) {
        say(
          'ABANDONED',
          `${label(item)}: the request in flight was given up at shutdown (it may still be billed); left pending`,
        );
        return;
      }
      let failure: GenerationFailure | undefined;
      if (result.ok) {
        breaker.requestSucceeded();
        tallyActual(progress, result, 'sync');
        lastQuality = options.check ? await options.check(item, result.bytes) : [];
        if (lastQuality.length === 0 || failedAttempts + 1 >= maxAttempts) {
          const reviewed =
            vision && lastQuality.length === 0
              ? await vision.review(item, result, {
                  gate,
                  regenerate: (notes) =>
                    repair(item, notes, () => {
                      requests += 1;
                    }),
                  log: (message) => say('QA', `${label(item)}: ${message}`),
                })
              : undefined;
          if (reviewed) reportVerdict(item, reviewed.verdict);
          const saved = await saveImage(root, item.caseId, item.imageId, reviewed?.image ?? result, {
            batchId,
            promptHash: item.promptHash,
            attempts: requests,
            generatedAt: new Date(clock.now()).toISOString(),
            mode: 'sync',
            quality: lastQuality,
            provenance: requestedProvenance(item),
            ...(reviewed ? { vision: reviewed.verdict } : {}),
          });
          if (lastQuality.length > 0) {
            // Kept so a person can judge it, but recorded as a failure: the checks never passed.
            progress.costUsd += result.costUsd;
            await fail(
              item,
              {
                ok: false,
                errorType: 'validation',
                reason: 'quality',
                message: `failed quality checks: ${lastQuality.join(', ')}`,
              },
              requests,
            );
            return;
          }
          removeFrom(progress.pending, item);
          removeFrom(progress.failed, item);
          progress.completed.push(strip(item));
          progress.costUsd += result.costUsd;
          generated.push({
            caseId: item.caseId,
            imageId: item.imageId,
            file: saved.file,
            costUsd: result.costUsd,
            attempts: requests,
          });
          const done = progress.completed.length;
          const pct = total ? Math.round((done / total) * 100) : 100;
          say('PROGRESS', `${done}/${total} (${pct}%) - ${label(item)} complete`);
          events.imageDone?.(item, { done, total });
          await persist();
          trip(breaker.imageFinished());
          return;
        }
        // A poor image is paid for, then asked for again within the image's attempts.
        progress.costUsd += result.costUsd;
        failedAttempts += 1;
        progress.retries += 1;
        say(
          'RETRY',
          `${label(item)} attempt ${failedAttempts + 1}/${maxAttempts} after failed quality checks: ${lastQuality.join(', ')}`,
        );
        continue;
      } else {
        failure = result;
      }
      if (options.signal?.aborted) return;
      if (failure.errorType === 'rate_limit') {
        rateLimited += 1;
        progress.rateLimitHits += 1;
        if (!failure.dailyQuota && trip(breaker.rateLimited())) return;
      } else {
        failedAttempts += 1;
      }
      const decision = decide(failure, { attempt: failedAttempts, rateLimited }, maxAttempts, config);
      if (decision.action === 'retry') {
        progress.retries += 1;
        const seconds = (decision.delayMs / 1000).toFixed(1);
        if (failure.errorType === 'rate_limit') {
          const why = failure.retryAfterMs !== undefined ? 'server retryDelay' : 'delayAfterRateLimit';
          say('RATE_LIMIT', `${label(item)} rate limited; all requests wait ${seconds}s (${why})`);
        } else {
          say(
            'RETRY',
            `${label(item)} attempt ${failedAttempts + 1}/${maxAttempts} in ${seconds}s after ${failure.errorType}: ${failure.message}`,
          );
        }
        events.imageRetry?.(item, failure, decision.delayMs);
        if (decision.pauseAll) limiter.pauseUntil(clock.now() + decision.delayMs);
        else await clock.sleep(decision.delayMs, options.signal);
        continue;
      }
      if (decision.action === 'stop-batch') {
        if (failure.dailyQuota) {
          dailyQuotaHit = true;
          say('RATE_LIMIT', `${label(item)}: ${failure.message}`);
        } else {
          await fail(item, failure, requests);
        }
        halt({ exitCode: decision.exitCode, reason: decision.reason });
        return;
      }
      await fail(item, failure, requests);
      if (stopOnError) halt({ exitCode: 3, reason: `stopOnError is set and ${label(item)} failed` });
      return;
    }
  };

  /**
   * One more generation of an image with the judge's notes added (the `regenerate` policy): same
   * cost cap, limiter and accounting as any request, no retries. Undefined when it could not be
   * made or fails the pixel checks: the image already judged is kept.
   */
  const repair = async (item: PlanItem, notes: string, started: () => void) => {
    if (stop || options.signal?.aborted) return undefined;
    const price = provider.costPerImage;
    if (
      progress.costUsd - costAtStart + reservedCost + gate.committedUsd + price >
      config.cost.maxCost + 1e-9
    ) {
      return undefined;
    }
    reservedCost += price;
    const got = await limiter.acquire(options.signal);
    if (!got || stop) {
      reservedCost -= price;
      return undefined;
    }
    started();
    progress.apiCalls += 1;
    progress.judge = { ...emptyJudgeTally(), ...progress.judge, repairs: (progress.judge?.repairs ?? 0) + 1 };
    const day = utcDay(clock.now());
    if (paced) progress.requestsByDay[day] = (progress.requestsByDay[day] ?? 0) + 1;
    const again = await provider.generate({
      kind: item.type,
      caseId: item.caseId,
      imageId: item.imageId,
      prompt: `${item.prompt}\n${notes}`,
      aspectRatio: item.aspectRatio,
      ...(item.style ? { references: [item.style] } : {}),
    });
    reservedCost -= price;
    if (!again.ok) return undefined;
    progress.costUsd += again.costUsd;
    tallyActual(progress, again, 'sync');
    const quality = options.check ? await options.check(item, again.bytes) : [];
    return quality.length ? undefined : again;
  };
  const reportVerdict = (item: PlanItem, verdict: VisionVerdict) => {
    tallyVerdict(progress, verdict);
    if (verdict.status === 'fail')
      say('QA', `${label(item)} flagged by vision QA: ${verdictSummary(verdict)}`);
    else if (verdict.status === 'not-judged') say('QA', `${label(item)} not judged: ${verdict.reason}`);
  };

  const queue = [...todo];
  let crash: unknown;
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      if (stop || options.signal?.aborted) return;
      try {
        await processItem(item);
      } catch (error) {
        // A bug or a full disk in one worker: the others stop starting requests, then it is rethrown.
        crash ??= error;
        halt({
          exitCode: 1,
          reason: `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
        });
        return;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(timing.maxConcurrent, Math.max(1, queue.length)) }, worker),
  );
  if (crash) {
    progress.status = 'stopped';
    await persist().catch(() => undefined);
    await log.flush().catch(() => undefined);
    throw crash;
  }
  if (!stop && options.signal?.aborted) {
    const why = options.signal.reason;
    halt({ exitCode: 3, reason: typeof why === 'string' ? why : 'interrupted' });
  }
  if (vision && !stop) {
    const suspectsMade = generated.filter((g) => g.imageId !== 'scene').map((g) => g.caseId);
    for (const caseId of new Set([...(options.lineupCases ?? []), ...suspectsMade])) {
      const verdict = await vision.lineup(caseId, gate);
      if (verdict) say('QA', `${caseId} lineup ${verdict.status}: ${verdictSummary(verdict)}`);
    }
  }

  // Outcome.
  const failedCount = progress.failed.length;
  const pending = progress.pending.length;
  let exitCode: 0 | 1 | 3;
  let status: BatchSummary['status'];
  if (stop) {
    exitCode = stop.exitCode;
    status = 'stopped';
  } else if (failedCount > 0 || pending > 0) {
    exitCode = 1;
    status = 'completed_with_failures';
  } else {
    exitCode = 0;
    status = 'completed';
  }
  progress.status = status;
  if (stop) progress.stopReason = stop.reason;
  else delete progress.stopReason;
  await persist();

  const metrics = computeMetrics(progress, total);
  const allFailures = failureRecords(progress);
  const errorReport = await writeErrorReport(root, {
    batchId,
    generatedAt: new Date(clock.now()).toISOString(),
    status,
    ...(stop ? { stopReason: stop.reason } : {}),
    provider: provider.name,
    model: provider.model,
    mode: progress.mode,
    summary: { total, successful: progress.completed.length, failed: failedCount, pending },
    failures: allFailures,
    recommendations: recommendations({
      batchId,
      failures: allFailures,
      metrics,
      ...(stop ? { stopReason: stop.reason } : {}),
      ...(tripped ? { breakerAdvice: tripped.advice } : {}),
      dailyQuotaHit,
      costCapHit,
      maxCost: config.cost.maxCost,
      resumeCommand,
    }),
    metrics,
  });
  say(
    'COMPLETE',
    `${progress.completed.length}/${total} generated, ${failedCount} failed, ${pending} pending, ` +
      `$${progress.costUsd.toFixed(3)} spent, ${progress.apiCalls} API calls (${status})`,
  );
  await log.flush();
  const summary: BatchSummary = {
    batchId,
    status,
    ...(stop ? { stopReason: stop.reason } : {}),
    exitCode,
    provider: provider.name,
    model: provider.model,
    total,
    successful: progress.completed.length,
    failed: failedCount,
    pending,
    costUsd: round(progress.costUsd),
    metrics,
    generated,
    failures: failuresThisRun,
    progressFile: progressFile(root, batchId),
    errorReportFile: errorReport || errorReportFile(root, batchId),
    logFile: log.file,
  };
  events.finish?.(summary);
  return summary;
}

function round(usd: number): number {
  return Math.round(usd * 10_000) / 10_000;
}

export function computeMetrics(progress: Progress, total: number): BatchMetrics {
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
    retryRate: progress.apiCalls ? round(progress.retries / progress.apiCalls) : 0,
    rateLimitHits: progress.rateLimitHits,
    estimatedCostUsd: round(progress.costUsd),
    ...extraMetrics(progress),
  };
}
