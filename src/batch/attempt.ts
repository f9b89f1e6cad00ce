import { ExitCode } from '../errors.ts';
import { decide } from '../pacing/retry-policy.ts';
import type {
  GeneratedImage,
  GenerationFailure,
  GenerationResult,
  ImageRequest,
} from '../providers/types.ts';
import { emptyJudgeTally, requestedProvenance, tallyActual } from './cost-tally.ts';
import type { PlanItem } from './plan.ts';
import { saveImage } from './save-image.ts';
import type { SyncRun } from './sync-run.ts';

/** Counts of one image's attempts so far. */
interface Tries {
  /** Requests sent (what the manifest records as attempts). */
  requests: number;
  /** Attempts that count against the image's budget (not 429s). */
  failed: number;
  rateLimited: number;
  /** Attempts allowed: the batch file's `retries`, else retry.maxAttempts. */
  max: number;
}

type Next = 'again' | 'done';

/**
 * Generates one image synchronously: requests it under the limiter and the cost cap, checks and
 * judges it, retries by the retry policy (README, "What happens on errors"), and saves it or
 * records the failure. Returns when the image is settled or the run stops.
 */
export async function attemptImage(run: SyncRun, item: PlanItem): Promise<void> {
  const tries: Tries = {
    requests: 0,
    failed: 0,
    rateLimited: 0,
    max: item.retries ?? run.config.retry.maxAttempts,
  };
  for (;;) {
    if (run.stopping()) return;
    const result = await requestOnce(run, item, tries);
    if (!result) return;
    const next = result.ok
      ? await onImage(run, item, result, tries)
      : await onFailure(run, item, result, tries);
    if (next === 'done') return;
  }
}

/** The provider's request for the image, with the case's style sheet when it has one. */
function imageRequest(item: PlanItem, prompt = item.prompt): ImageRequest {
  return {
    kind: item.type,
    caseId: item.caseId,
    imageId: item.imageId,
    prompt,
    aspectRatio: item.aspectRatio,
    ...(item.style ? { references: [item.style] } : {}),
  };
}

/** One request for the image; undefined when none may start or it was abandoned at shutdown. */
async function requestOnce(
  run: SyncRun,
  item: PlanItem,
  tries: Tries,
): Promise<GenerationResult | undefined> {
  const slot = await run.startRequest();
  if (!slot) return undefined;
  tries.requests += 1;
  run.session.events.imageStart?.(item, tries.requests);
  const abandon = run.options.abandon;
  const result = await run.provider.generate({
    ...imageRequest(item),
    // Not the Ctrl-C signal: an image the server is already making is paid for, so it is
    // waited for (up to the request timeout) unless the run is abandoned.
    ...(abandon ? { signal: abandon } : {}),
  });
  run.endRequest();
  run.limiter.observe(slot, result, tries.failed > 0);
  if (!result.ok && abandon?.aborted) {
    run.session.say(
      'ABANDONED',
      `${run.session.label(item)}: the request in flight was given up at shutdown (it may still be billed); left pending`,
    );
    return undefined;
  }
  return result;
}

/** A paid image: kept when it passes the checks or has no attempt left, else asked for again. */
async function onImage(run: SyncRun, item: PlanItem, image: GeneratedImage, tries: Tries): Promise<Next> {
  run.breaker.requestSucceeded();
  tallyActual(run.progress, image, 'sync');
  const check = run.options.check;
  const quality = check ? await check(item, image.bytes) : [];
  if (quality.length === 0 || tries.failed + 1 >= tries.max) {
    await keep(run, item, image, quality, tries);
    return 'done';
  }
  // A poor image is paid for, then asked for again within the image's attempts.
  run.progress.costUsd += image.costUsd;
  tries.failed += 1;
  run.progress.retries += 1;
  run.session.say(
    'RETRY',
    `${run.session.label(item)} attempt ${tries.failed + 1}/${tries.max} after failed quality checks: ${quality.join(', ')}`,
  );
  return 'again';
}

/** Judges (when it passed the pixel checks) and saves the image; a failing one is kept but failed. */
async function keep(
  run: SyncRun,
  item: PlanItem,
  image: GeneratedImage,
  quality: string[],
  tries: Tries,
): Promise<void> {
  const s = run.session;
  const vision = run.options.vision;
  const reviewed =
    vision && quality.length === 0
      ? await vision.review(item, image, {
          gate: run.gate,
          regenerate: (notes) => repair(run, item, notes, tries),
          log: (message) => s.say('QA', `${s.label(item)}: ${message}`),
        })
      : undefined;
  if (reviewed) run.session.reportVerdict(item, reviewed.verdict);
  const saved = await saveImage(s.options.root, item.caseId, item.imageId, reviewed?.image ?? image, {
    batchId: s.batchId,
    promptHash: item.promptHash,
    attempts: tries.requests,
    generatedAt: s.now(),
    mode: 'sync',
    quality,
    provenance: requestedProvenance(item),
    ...(reviewed ? { vision: reviewed.verdict } : {}),
  });
  run.progress.costUsd += image.costUsd;
  if (quality.length > 0) {
    // Kept so a person can judge it, but recorded as a failure: the checks never passed.
    const failure: GenerationFailure = {
      ok: false,
      errorType: 'validation',
      reason: 'quality',
      message: `failed quality checks: ${quality.join(', ')}`,
    };
    await run.fail(item, failure, tries.requests);
    return;
  }
  await s.complete(item, { file: saved.file, costUsd: image.costUsd, attempts: tries.requests });
  run.trip(run.breaker.imageFinished());
}

/** A failed request: retried, or the image failed, or the whole run stopped (retry policy). */
async function onFailure(
  run: SyncRun,
  item: PlanItem,
  failure: GenerationFailure,
  tries: Tries,
): Promise<Next> {
  const s = run.session;
  if (run.options.signal?.aborted) return 'done';
  if (failure.errorType === 'rate_limit') {
    tries.rateLimited += 1;
    run.progress.rateLimitHits += 1;
    if (!failure.dailyQuota && run.trip(run.breaker.rateLimited())) return 'done';
  } else {
    tries.failed += 1;
  }
  const decision = decide(
    failure,
    { attempt: tries.failed, rateLimited: tries.rateLimited },
    tries.max,
    run.config,
  );
  if (decision.action === 'retry') {
    run.progress.retries += 1;
    const seconds = (decision.delayMs / 1000).toFixed(1);
    if (failure.errorType === 'rate_limit') {
      const why = failure.retryAfterMs !== undefined ? 'server retryDelay' : 'delayAfterRateLimit';
      s.say('RATE_LIMIT', `${s.label(item)} rate limited; all requests wait ${seconds}s (${why})`);
    } else {
      s.say(
        'RETRY',
        `${s.label(item)} attempt ${tries.failed + 1}/${tries.max} in ${seconds}s after ${failure.errorType}: ${failure.message}`,
      );
    }
    s.events.imageRetry?.(item, failure, decision.delayMs);
    if (decision.pauseAll) run.limiter.pauseUntil(s.clock.now() + decision.delayMs);
    else await s.clock.sleep(decision.delayMs, run.options.signal);
    return 'again';
  }
  if (decision.action === 'stop-batch') {
    if (failure.dailyQuota) {
      s.say('RATE_LIMIT', `${s.label(item)}: ${failure.message}`);
      run.dailyQuota();
    } else {
      await run.fail(item, failure, tries.requests);
    }
    run.halt({ exitCode: decision.exitCode, reason: decision.reason });
    return 'done';
  }
  await run.fail(item, failure, tries.requests);
  if (run.progress.options.stopOnError) {
    run.halt({ exitCode: ExitCode.stoppedEarly, reason: `stopOnError is set and ${s.label(item)} failed` });
  }
  return 'done';
}

/**
 * One more generation of an image with the judge's notes added (the `regenerate` policy): same
 * cost cap, limiter and accounting as any request, no retries. Undefined when it could not be
 * made or fails the pixel checks: the image already judged is kept.
 */
async function repair(
  run: SyncRun,
  item: PlanItem,
  notes: string,
  tries: Tries,
): Promise<GeneratedImage | undefined> {
  if (run.stopping()) return undefined;
  const slot = await run.startRequest(true);
  if (!slot) return undefined;
  tries.requests += 1;
  const judge = run.progress.judge;
  run.progress.judge = { ...emptyJudgeTally(), ...judge, repairs: (judge?.repairs ?? 0) + 1 };
  const again = await run.provider.generate(imageRequest(item, `${item.prompt}\n${notes}`));
  run.endRequest();
  // Its slot's outcome, as for every request; a repair is its image's own retry (see observe).
  run.limiter.observe(slot, again, true);
  if (!again.ok) return undefined;
  run.progress.costUsd += again.costUsd;
  tallyActual(run.progress, again, 'sync');
  const check = run.options.check;
  const quality = check ? await check(item, again.bytes) : [];
  return quality.length ? undefined : again;
}
