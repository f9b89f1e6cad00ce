import { type BatchModeOptions, collectBatch, submitBatch } from '../batch/batch-mode/index.ts';
import type { BatchEvents } from '../batch/events.ts';
import { type Plan, type PlanSource, resolvePlan, wantedImages } from '../batch/plan.ts';
import { claimBatchId, type Progress, readProgress, startingProgress, strip } from '../batch/progress.ts';
import { executeBatch } from '../batch/runner.ts';
import type { LimiterShare } from '../batch/sync-run.ts';
import type { BatchSummary, PlannedImage } from '../batch/types.ts';
import type { BatchOptions } from '../cases/batch-file.ts';
import { type Config, costPerImage as priceOf } from '../config/schema.ts';
import { InputError, InputErrors } from '../errors.ts';
import type { BatchClient } from '../providers/gemini-batch.ts';
import { createProvider } from '../providers/index.ts';
import type { ImageProvider, ProviderName } from '../providers/types.ts';
import { attachVision, visionFactoryOf } from '../qa/registry.ts';
import type { VisionReview } from '../qa/vision-review.ts';
import type { ImageCheck } from '../quality/index.ts';
import { type Clock, systemClock } from '../util/clock.ts';

export interface ProviderChoice {
  /** Explicit choice; when absent: gemini with a key, else `fallback` decides. */
  provider?: ProviderName;
  apiKey?: string;
  /** The terminal falls back to placeholder without a key; the actions never do. */
  allowFallback: boolean;
  warn?: (message: string) => void;
}

/** Picks and builds the provider (README, "Providers"). */
export function chooseProvider(config: Config, choice: ProviderChoice): ImageProvider {
  let name = choice.provider ?? config.provider;
  if (!name) {
    if (choice.apiKey) name = 'gemini';
    else if (choice.allowFallback) {
      choice.warn?.(
        'GEMINI_API_KEY is not set: using the offline placeholder provider. Its images are marked as placeholders and the scan will list them as still to generate.',
      );
      name = 'placeholder';
    } else {
      throw new InputError(
        'GEMINI_API_KEY is not set; pass gemini-api-key, or provider: placeholder on purpose',
        {
          field: 'provider',
        },
      );
    }
  }
  const model = name === 'placeholder' ? 'placeholder' : config.model;
  const provider = createProvider({
    provider: name,
    ...(choice.apiKey ? { apiKey: choice.apiKey } : {}),
    model,
    apiVersion: config.apiVersion,
    ...(config.apiBaseUrl ? { baseUrl: config.apiBaseUrl } : {}),
    timeoutMs: config.timing.requestTimeout,
    costPerImage: name === 'placeholder' ? 0 : priceOf(config, model),
    imageSize: config.imageSize,
  });
  attachVision(provider, config, choice.apiKey);
  return provider;
}

export interface PlanRequest {
  root: string;
  config: Config;
  source: PlanSource;
  force: boolean;
  provider: ImageProvider;
  /** The user named the cap (--max-cost): run up to it and stop with exit 3 instead of refusing. */
  explicitMaxCost?: boolean;
  /** Price per image when it is not the provider's (--mode batch: the Batch API's). */
  costPerImage?: number;
}

export interface PlannedBatch extends Plan {
  estimatedCostUsd: number;
}

/**
 * Pre-flight: every case, suspect and prompt of the plan checked before the first request, every
 * problem listed at once (InputErrors, exit 2).
 */
export async function planBatch(request: PlanRequest): Promise<PlannedBatch> {
  const { root, config, source } = request;
  let wanted: { images: PlannedImage[]; options: BatchOptions };
  try {
    wanted = await wantedImages(root, source);
  } catch (error) {
    if (error instanceof InputError) throw new InputErrors([error]);
    throw error;
  }
  const resolved = await resolvePlan(root, wanted.images, {
    force: request.force,
    ...(source.kind === 'batch-file' ? { source: source.path } : {}),
  });
  const problems = [...resolved.problems];
  const estimatedCostUsd = resolved.items.length * (request.costPerImage ?? request.provider.costPerImage);
  if (!request.explicitMaxCost && estimatedCostUsd > config.cost.maxCost + 1e-9) {
    problems.push(
      new InputError(
        `${resolved.items.length} image(s) would cost about $${estimatedCostUsd.toFixed(2)}, over cost.maxCost $${config.cost.maxCost.toFixed(2)}; pass --max-cost to spend up to a cap and resume the rest later`,
        { field: 'maxCost' },
      ),
    );
  }
  if (problems.length) throw new InputErrors(problems);
  return { items: resolved.items, skipped: resolved.skipped, options: wanted.options, estimatedCostUsd };
}

export interface RunRequest {
  root: string;
  config: Config;
  provider: ImageProvider;
  /** A new batch from this source, or… */
  source?: PlanSource;
  /** …continue this one. */
  resume?: string;
  force?: boolean;
  explicitMaxCost?: boolean;
  clock?: Clock;
  events?: BatchEvents | undefined;
  signal?: AbortSignal | undefined;
  /** Gives up on requests in flight (see ExecuteOptions.abandon). */
  abandon?: AbortSignal | undefined;
  check?: ImageCheck | undefined;
  /** Makes new batch ids unique across parallel CI jobs (e.g. the run id and the case); see claimBatchId. */
  batchIdScope?: string;
  /** Shares one limiter across the batches of a group (see ExecuteOptions.limiterShare). */
  limiterShare?: LimiterShare | undefined;
  /** Called with the claimed batch id before the first request (actions publish it early). */
  onBatchId?: ((batchId: string) => void) | undefined;
  /** `batch`: new batches are submitted as Gemini batch jobs instead of generated now. */
  mode?: 'sync' | 'batch';
  /** The Batch API, for new batch-mode batches and for resuming (collecting) them. */
  batchClient?: BatchClient | undefined;
  /** Job size limits and the test hook of batch mode. */
  batchOptions?: Pick<BatchModeOptions, 'limits' | 'afterCreate'>;
  /** The vision judge; default: the one chosen with the provider (null: none). */
  vision?: VisionReview | null;
}

/** Nothing to do: no batch is created, no file written. */
export interface EmptyRun {
  batchId: null;
  skipped: number;
}

/** Plans (or reloads), claims a batch id and executes. The one entry point of every face. */
export async function runBatch(request: RunRequest): Promise<BatchSummary | EmptyRun> {
  const clock = request.clock ?? systemClock;
  const vision =
    request.vision === undefined
      ? visionFactoryOf(request.provider)?.(request.root, clock)
      : (request.vision ?? undefined);
  // What both engines share, written once so batch mode's synchronous fallback ends a cancelled
  // run the same way (abandon included).
  const common = {
    root: request.root,
    config: request.config,
    provider: request.provider,
    clock,
    events: request.events,
    signal: request.signal,
    abandon: request.abandon,
    check: request.check,
    vision,
  };
  const batchMode: BatchModeOptions = { ...common, client: request.batchClient, ...request.batchOptions };
  const claimed = request.resume
    ? await reload(request, request.resume, batchMode)
    : await claim(request, clock, batchMode);
  if (!('items' in claimed)) return claimed;
  const { progress, items } = claimed;
  request.onBatchId?.(progress.batchId);
  return executeBatch({
    ...common,
    progress,
    items,
    limiterShare: request.limiterShare,
    force: request.force,
  });
}

/** A claimed batch ready for the synchronous engine. */
interface Claimed {
  progress: Progress;
  items: Plan['items'];
}

/**
 * `--resume`: the batch's progress file, with its pending images (and recoverable failures, or
 * every failure with `force`) planned again. A batch-mode batch is collected instead.
 */
async function reload(
  request: RunRequest,
  batchId: string,
  batchMode: BatchModeOptions,
): Promise<Claimed | BatchSummary> {
  const { root, provider } = request;
  const progress = await readProgress(root, batchId);
  // A batch is finished the way it was started: a resume without the key must not complete a
  // gemini batch with placeholders, nor switch models half-way.
  if (progress.provider !== provider.name || progress.model !== provider.model) {
    throw new InputError(
      `${progress.batchId} was started with ${progress.provider}/${progress.model}; resume it with the same provider and model${progress.provider === 'gemini' ? ' (set GEMINI_API_KEY)' : ''}, or start a new batch`,
      { field: 'resume' },
    );
  }
  // The model is asked about before the first request of the run, and before anything is written.
  await provider.verifyModel?.();
  if (progress.mode === 'batch') {
    request.onBatchId?.(progress.batchId);
    return collectBatch({ ...batchMode, progress, retryRecoverable: true });
  }
  const retryable = progress.failed.filter((f) => f.recoverable || request.force);
  const images: PlannedImage[] = [...progress.pending, ...retryable].map(strip);
  const resolved = await resolvePlan(root, images, { force: true });
  if (resolved.problems.length) throw new InputErrors(resolved.problems);
  for (const f of retryable) {
    const at = progress.failed.indexOf(f);
    progress.failed.splice(at, 1);
    progress.pending.push(strip(f));
  }
  return { progress, items: resolved.items };
}

/**
 * A new batch: pre-flight, then a batch id claimed with its progress file. Nothing to do is an
 * EmptyRun (no file written); `--mode batch` submits the images as Gemini batch jobs.
 */
async function claim(
  request: RunRequest,
  clock: Clock,
  batchMode: BatchModeOptions,
): Promise<Claimed | BatchSummary | EmptyRun> {
  const { root, config, provider } = request;
  if (!request.source) throw new InputError('nothing to do: give a case id, a batch file or --resume');
  const batch = request.mode === 'batch';
  if (batch && !request.batchClient) {
    throw new InputError('--mode batch needs the gemini provider and GEMINI_API_KEY', { field: 'mode' });
  }
  const plan = await planBatch({
    root,
    config,
    source: request.source,
    force: request.force ?? false,
    provider,
    ...(request.explicitMaxCost ? { explicitMaxCost: true } : {}),
    ...(batch && request.batchClient ? { costPerImage: request.batchClient.costPerImage } : {}),
  });
  if (plan.items.length === 0) return { batchId: null, skipped: plan.skipped.length };
  await provider.verifyModel?.();
  const progress = await claimBatchId(
    root,
    new Date(clock.now()),
    startingProgress({
      startTime: new Date(clock.now()).toISOString(),
      createdAtMs: Date.now(),
      provider: provider.name,
      model: provider.model,
      mode: batch ? 'batch' : 'sync',
      options: plan.options,
      pending: plan.items.map(strip),
    }),
    request.batchIdScope,
  );
  if (batch) {
    request.onBatchId?.(progress.batchId);
    return submitBatch({ ...batchMode, progress, items: plan.items });
  }
  return { progress, items: plan.items };
}
