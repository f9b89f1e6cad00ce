import { ExitCode } from '../../errors.ts';
import { decide, isRecoverable } from '../../pacing/retry-policy.ts';
import { BatchApiError, type BatchJobInfo, batchRequestBytes } from '../../providers/gemini-batch.ts';
import type { GenerationFailure } from '../../providers/types.ts';
import type { PlanItem } from '../plan.ts';
import { type BatchJobRecord, imageKey } from '../progress.ts';
import { chunkBy, DEFAULT_CHUNK_LIMITS } from './chunk.ts';
import type { BatchSession, Stop } from './session.ts';

export const CREATING = 'CREATING';

/**
 * `lineup-batch-2025-01-19-001-mi3x8k2a-job-2`: unique per batch and chunk, so a rerun finds its
 * job. The batch's creation time is part of it: an id claimed again later (a progress file lost or
 * never merged) must not adopt the earlier batch's job.
 */
export function jobDisplayName(batchId: string, index: number, createdAtMs = 0): string {
  return `lineup-${batchId}-${createdAtMs.toString(36)}-job-${index + 1}`;
}

/** Keys held by jobs that may still produce images (not yet collected, not dead). */
function keysInJobs(jobs: readonly BatchJobRecord[]): Set<string> {
  return new Set(jobs.flatMap((j) => j.keys));
}

/**
 * Puts every pending image that is in no job yet into new job records (written before any job is
 * created), then creates each job that has no name. Returns a stop when creation cannot go on.
 */
export async function submitPending(
  s: BatchSession,
  known?: Map<string, PlanItem>,
): Promise<Stop | undefined> {
  const { config } = s.options;
  const progress = s.progress;
  const inJobs = keysInJobs(s.jobs);
  const unsubmitted = progress.pending.filter((p) => !inJobs.has(imageKey(p)));
  const limits = s.options.limits ?? DEFAULT_CHUNK_LIMITS;

  if (unsubmitted.length > 0) {
    const client = s.client();
    // Images already in live jobs are as good as paid for: the cap counts them before new ones.
    const open = s.jobs
      .filter((j) => j.state !== 'JOB_STATE_SUCCEEDED')
      .flatMap((j) => j.keys)
      .filter((k) => progress.pending.some((p) => imageKey(p) === k)).length;
    const room = config.cost.maxCost - progress.costUsd - open * client.costPerImage;
    const fit =
      client.costPerImage > 0
        ? Math.max(0, Math.floor(room / client.costPerImage + 1e-9))
        : unsubmitted.length;
    const take = unsubmitted.slice(0, fit);
    if (take.length < unsubmitted.length) {
      s.say(
        'COST',
        `the cost cap of $${config.cost.maxCost.toFixed(2)} leaves room for ${take.length} of ${unsubmitted.length} image(s); the rest stay pending`,
      );
    }
    const items = known ?? (await s.resolve(take));
    const wanted = take.flatMap((p) => {
      const item = items.get(imageKey(p));
      return item ? [item] : [];
    });
    const chunks = chunkBy(wanted, (i) => batchRequestBytes(requestOf(i)), limits);
    for (const chunk of chunks) {
      s.jobs.push({
        displayName: jobDisplayName(progress.batchId, s.jobs.length, progress.createdAtMs),
        keys: chunk.map((i) => i.key),
        state: CREATING,
      });
    }
    // Written before the first create: from here on a crash leaves names a rerun can look for.
    await s.persist();
  }

  const creating = s.jobs.filter((j) => !j.name);
  if (creating.length === 0) return undefined;
  s.client(); // without a key, say so before resolving prompts
  const pendingByKey = new Map(progress.pending.map((p) => [imageKey(p), p]));
  const needed = creating.flatMap((j) => j.keys.flatMap((k) => pendingByKey.get(k) ?? []));
  const items = known && needed.every((p) => known.has(imageKey(p))) ? known : await s.resolve(needed);

  for (const job of creating) {
    if (s.options.signal?.aborted) return { exitCode: 3, reason: 'interrupted' };
    const requests = job.keys.flatMap((k) => {
      const item = items.get(k);
      return item ? [requestOf(item)] : [];
    });
    // Keys whose images failed to resolve meanwhile are dropped from the job before it exists.
    job.keys = requests.map((r) => r.key);
    if (requests.length === 0) {
      job.state = 'JOB_STATE_CANCELLED';
      continue;
    }
    const outcome = await createOnce(s, job, requests);
    if ('stop' in outcome) {
      await s.persist();
      return outcome.stop;
    }
    job.name = outcome.job.name;
    job.state = outcome.job.state;
    job.createdAt = outcome.job.createTime ?? new Date(s.clock.now()).toISOString();
    await s.persist();
  }
  return undefined;
}

function requestOf(item: PlanItem) {
  return {
    key: item.key,
    prompt: item.prompt,
    aspectRatio: item.aspectRatio,
    ...(item.style ? { references: [item.style] } : {}),
  };
}

/**
 * Finds the job by its display name or creates it. Every attempt looks first, because a create
 * that timed out or died with the process may well exist on the server.
 */
async function createOnce(
  s: BatchSession,
  job: BatchJobRecord,
  requests: ReturnType<typeof requestOf>[],
): Promise<{ job: BatchJobInfo } | { stop: Stop }> {
  const client = s.client();
  const { config } = s.options;
  let failedAttempts = 0;
  let rateLimited = 0;
  for (;;) {
    let failure: GenerationFailure;
    try {
      const existing = await client.findByDisplayName(job.displayName);
      if (existing) {
        s.say(
          'SUBMIT',
          `${job.displayName} already exists as ${existing.name} (created before an interruption)`,
        );
        return { job: existing };
      }
      const created = await client.create(job.displayName, requests);
      await s.options.afterCreate?.(created);
      s.say('SUBMIT', `${job.displayName}: ${requests.length} image(s) submitted as ${created.name}`);
      return { job: created };
    } catch (error) {
      if (!(error instanceof BatchApiError)) throw error;
      failure = error.failure;
    }
    if (failure.errorType === 'rate_limit') rateLimited += 1;
    else failedAttempts += 1;
    const decision = decide(
      failure,
      { attempt: failedAttempts, rateLimited },
      config.retry.maxAttempts,
      config,
    );
    if (decision.action === 'retry' && !s.options.signal?.aborted) {
      s.say(
        'RETRY',
        `${job.displayName}: ${failure.errorType} - ${failure.message}; again in ${(decision.delayMs / 1000).toFixed(1)}s`,
      );
      await s.clock.sleep(decision.delayMs, s.options.signal);
      continue;
    }
    const reason = `creating ${job.displayName} failed: ${failure.errorType} - ${failure.message}`;
    s.say('ERROR', reason);
    // The error table has already stopped the batch for a key, billing, a retired model or no
    // quota, with its exit code. Of what is given up, a request no resume can fix (a bad request)
    // needs a person: exit 1, so the workflow goes red; anything else may pass on a later --resume.
    const exitCode =
      decision.action === 'stop-batch'
        ? decision.exitCode
        : isRecoverable(failure)
          ? ExitCode.stoppedEarly
          : ExitCode.someFailed;
    return { stop: { exitCode, reason } };
  }
}
