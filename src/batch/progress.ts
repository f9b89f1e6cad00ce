import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { batchOptionsSchema } from '../cases/batch-file.ts';
import { InputError } from '../errors.ts';
import { writeJsonAtomic } from '../util/atomic-write.ts';
import { readJsonFile } from '../util/read-json.ts';
import { judgeTallySchema } from './cost-tally.ts';
import type { FailureRecord, PlannedImage } from './types.ts';

export const BATCH_ID_PATTERN = /^batch-\d{4}-\d{2}-\d{2}-\d{3,}$/;

const plannedSchema = z.object({
  type: z.enum(['suspect', 'scene']),
  caseId: z.string(),
  suspectId: z.string().optional(),
  retries: z.number().int().optional(),
  feedback: z.string().optional(),
});

const failedSchema = plannedSchema.extend({
  error: z.string(),
  errorType: z.string(),
  reason: z.string().optional(),
  attempts: z.number().int(),
  recoverable: z.boolean(),
});

/**
 * A Gemini batch job of a `--mode batch` batch. It is written before the job is created (no
 * `name` yet) so a rerun after a crash finds it again by `displayName` instead of paying twice.
 */
const batchJobSchema = z.object({
  /** `batches/…`, the server's name; absent until the job is known to exist. */
  name: z.string().optional(),
  displayName: z.string(),
  /** Image keys (`caseId/imageId`) the job holds, also its requests' `metadata.key`. */
  keys: z.array(z.string()),
  /** `CREATING` until created, then the SDK's JOB_STATE_*, recorded when last polled or collected. */
  state: z.string(),
  createdAt: z.string().optional(),
});

/**
 * The progress file as the seed had it (batchId, startTime, completed[], pending[], failed[]; README,
 * "The seed: what lineup replaces") plus what a
 * resume needs to carry on exactly where the run stopped.
 */
const progressSchema = z.object({
  batchId: z.string().regex(BATCH_ID_PATTERN),
  startTime: z.string(),
  /** Wall-clock ms when the batch was created: images on disk newer than this are this batch's. */
  createdAtMs: z.number(),
  updatedAt: z.string().optional(),
  status: z.enum(['running', 'completed', 'completed_with_failures', 'stopped', 'submitted']),
  stopReason: z.string().optional(),
  provider: z.enum(['gemini', 'placeholder']),
  model: z.string(),
  mode: z.enum(['sync', 'batch']).default('sync'),
  options: batchOptionsSchema.default({}),
  completed: z.array(plannedSchema),
  pending: z.array(plannedSchema),
  failed: z.array(failedSchema),
  costUsd: z.number().default(0),
  apiCalls: z.number().int().default(0),
  retries: z.number().int().default(0),
  rateLimitHits: z.number().int().default(0),
  elapsedMs: z.number().default(0),
  /** Requests started per UTC day, so rateLimit.requestsPerDay holds across runs and batches. */
  requestsByDay: z.record(z.string(), z.number().int().nonnegative()).default({}),
  /** --mode batch only: the batch's Gemini batch jobs. */
  jobs: z.array(batchJobSchema).optional(),
  /** Tokens × published prices of every reply that reported usage (costUsd is the estimate). */
  actualCostUsd: z.number().nonnegative().optional(),
  /** The vision judge's tally for this batch. */
  judge: judgeTallySchema.optional(),
});

export type Progress = z.infer<typeof progressSchema>;
export type BatchJobRecord = z.infer<typeof batchJobSchema>;

export function imageKey(image: Pick<PlannedImage, 'caseId' | 'type' | 'suspectId'>): string {
  return `${image.caseId}/${imageIdOf(image)}`;
}

export function imageIdOf(image: Pick<PlannedImage, 'type' | 'suspectId'>): string {
  return image.type === 'scene' ? 'scene' : (image.suspectId ?? '');
}

/** How a user carries on with a batch (logs, recommendations, the terminal's summary). */
export function resumeCommand(batchId: string): string {
  return `npx tsx scripts/batch-generate-images.ts --resume ${batchId}`;
}

export function progressDir(root: string): string {
  return join(root, 'reports', 'progress');
}

export function progressFile(root: string, batchId: string): string {
  if (!BATCH_ID_PATTERN.test(batchId)) {
    throw new InputError(`${JSON.stringify(batchId)} is not a batch id; expected batch-YYYY-MM-DD-NNN`, {
      field: 'resume',
    });
  }
  return join(progressDir(root), `${batchId}.json`);
}

export async function readProgress(root: string, batchId: string): Promise<Progress> {
  const file = progressFile(root, batchId);
  try {
    return await readJsonFile(file, progressSchema);
  } catch (error) {
    if (error instanceof InputError && error.message.endsWith('does not exist')) {
      throw new InputError(`no batch ${batchId} to resume (${error.message})`, { field: 'resume' });
    }
    throw error;
  }
}

export function writeProgress(root: string, progress: Progress): Promise<void> {
  return writeJsonAtomic(progressFile(root, progress.batchId), progress);
}

/** What a new batch's progress file starts with: who runs it and what is pending, every tally at zero. */
export function startingProgress(
  start: Pick<Progress, 'startTime' | 'createdAtMs' | 'provider' | 'model' | 'mode' | 'options' | 'pending'>,
): Omit<Progress, 'batchId'> {
  return {
    ...start,
    status: 'running',
    completed: [],
    failed: [],
    costUsd: 0,
    apiCalls: 0,
    retries: 0,
    rateLimitHits: 0,
    elapsedMs: 0,
    requestsByDay: {},
  };
}

/**
 * Claims the next free id of the day: the full progress file is written aside, then hard-linked
 * into place, which fails if the name exists. Two runs never share an id, and a crash never
 * leaves an empty progress file behind.
 */
export async function claimBatchId(
  root: string,
  now: Date,
  initial: Omit<Progress, 'batchId'>,
  scope?: string,
): Promise<Progress> {
  const day = now.toISOString().slice(0, 10);
  const dir = progressDir(root);
  await mkdir(dir, { recursive: true });
  const taken = (await readdir(dir)).filter((f) => f.startsWith(`batch-${day}-`) && f.endsWith('.json'));
  // Parallel CI jobs each number from main's files and push to different branches: a scope (the
  // run and the case) starts them at distant five-digit numbers so their ids do not collide.
  let n = scope
    ? 10_000 + (createHash('sha256').update(scope).digest().readUInt32BE(0) % 90_000)
    : taken.length + 1;
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    for (;;) {
      const batchId = `batch-${day}-${String(n).padStart(3, '0')}`;
      const progress: Progress = { batchId, ...initial };
      await writeFile(tmp, `${JSON.stringify(progress, null, 2)}\n`);
      try {
        await link(tmp, join(dir, `${batchId}.json`));
        return progress;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        n += 1;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The planned image alone, without the fields a plan or a failure adds (what progress lists hold). */
export function strip(item: PlannedImage): PlannedImage {
  const out: PlannedImage = { type: item.type, caseId: item.caseId };
  if (item.suspectId) out.suspectId = item.suspectId;
  if (item.retries !== undefined) out.retries = item.retries;
  if (item.feedback !== undefined) out.feedback = item.feedback;
  return out;
}

/** The progress file's failures in the error report's shape. */
export function failureRecords(p: Progress): FailureRecord[] {
  return p.failed.map((f) => ({
    type: f.type,
    caseId: f.caseId,
    ...(f.suspectId ? { suspectId: f.suspectId } : {}),
    error: f.error,
    errorType: f.errorType as FailureRecord['errorType'],
    reason: (f.reason ?? 'unknown') as FailureRecord['reason'],
    attempts: f.attempts,
    recoverable: f.recoverable,
  }));
}

/**
 * Requests started on `day` by every batch on record (this one included): where the limiter's
 * day count starts, so a second run the same day does not get a fresh allowance.
 */
export async function requestsStartedOn(root: string, day: string): Promise<number> {
  const names = await readdir(progressDir(root)).catch(() => [] as string[]);
  let total = 0;
  for (const name of names.filter(
    (n) => BATCH_ID_PATTERN.test(n.replace(/\.json$/, '')) && n.endsWith('.json'),
  )) {
    const progress = await readJsonFile(join(progressDir(root), name), progressSchema).catch(() => undefined);
    total += progress?.requestsByDay[day] ?? 0;
  }
  return total;
}
