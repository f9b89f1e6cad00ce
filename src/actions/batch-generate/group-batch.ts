import * as core from '@actions/core';
import type { PlanItem } from '../../batch/plan.ts';
import { type Progress, readProgress, strip, writeProgress } from '../../batch/progress.ts';
import type { BatchSummary } from '../../batch/types.ts';
import { ExitCode } from '../../errors.ts';
import { formatUsd } from '../../github/gallery.ts';
import { imagesBranch } from '../../github/refs.ts';
import { writeJobSummary } from '../../github/summary.ts';
import type { PreparedRun } from '../../run/prepare-run.ts';
import { errorMessage } from '../../util/error-message.ts';
import type { Shutdown } from '../cancel.ts';
import { casesOfProgress, logEvents } from '../gallery-images.ts';
import { repository, workspace } from '../inputs.ts';
import { BranchPublisher, type FinishedBatch } from '../publish.ts';
import type { Shared } from './generate.ts';
import type { Inputs } from './inputs.ts';

/**
 * One case's share of a batch over several cases: the same batch id, its images and the Batch
 * API jobs cut down to that case's keys. Each case branch holds its own share, so whichever run
 * later continues that branch (alone, or in any other group) collects exactly that case's images
 * from the shared job and publishes them as a one-case batch; no two runs ever write the same
 * branch for one job.
 */
export function caseShare(progress: Progress, caseId: string): Progress {
  const mine = <T extends { caseId: string }>(list: readonly T[]) => list.filter((i) => i.caseId === caseId);
  const prefix = `${caseId}/`;
  return {
    ...progress,
    completed: mine(progress.completed),
    pending: mine(progress.pending),
    failed: mine(progress.failed),
    ...(progress.jobs
      ? {
          jobs: progress.jobs
            .map((job) => ({ ...job, keys: job.keys.filter((k) => k.startsWith(prefix)) }))
            .filter((job) => job.keys.length > 0),
        }
      : {}),
  };
}

/** The cases of a batch, in the order their images were planned. */
export interface GroupBatchDeps {
  prepare(root: string, i: Inputs): Promise<PreparedRun>;
  upload(name: string, result: BatchSummary): Promise<void>;
}

/**
 * Batch mode over a group: the new images of every case, planned case by case (after each case's
 * branch was continued and its earlier jobs collected), go to the Batch API as one batch, split
 * only by the job size limit. Each case's branch then gets that case's share of the progress
 * file (see caseShare); the images arrive on the case branches when the jobs are collected.
 */
export async function submitGroupBatch(
  i: Inputs,
  planned: readonly PlanItem[],
  shutdown: Shutdown,
  shared: Shared,
  deps: GroupBatchDeps,
): Promise<FinishedBatch | undefined> {
  const root = workspace();
  const firstCase = planned[0]?.caseId ?? 'group';
  const setup = await deps.prepare(root, { ...i, caseId: undefined, caseIds: [] });
  // The plan of each case is already made (force where its scan said so): submit exactly that.
  const run = await setup.choose({ scanAll: true, fix: true, found: planned.map(strip) });
  const result = await run.run({
    events: logEvents(),
    signal: shutdown.signal,
    abandon: shutdown.abandon,
    ...(process.env.GITHUB_RUN_ID ? { batchIdScope: `${process.env.GITHUB_RUN_ID}-group-${firstCase}` } : {}),
  });
  if (result.batchId === null) return undefined;
  const full = await readProgress(root, result.batchId);
  const branches = i.commit ? await publishShares(root, i, full, shared) : [];
  const jobs = full.jobs?.length ?? 0;
  const line =
    `${result.batchId}: ${result.total} image(s) of ${casesOfProgress(full).length} case(s) ` +
    `${result.status === 'submitted' ? 'submitted' : `not all submitted (${result.stopReason ?? result.status})`} ` +
    `in ${jobs} Batch API job(s), about ${formatUsd(result.total * setup.costPerImage)}; collected into each case's branch by a later run`;
  core.info(line);
  await writeJobSummary(`## lineup group batch ${result.batchId}\n\n${line}.\n`);
  await deps.upload(`${i.artifactName ?? 'lineup-report'}-${result.batchId}`, result);
  if (result.exitCode === ExitCode.someFailed)
    core.setFailed(`${result.batchId}: ${result.stopReason ?? 'failed'}`);
  return { result, ...(branches.length ? { branch: branches.join(' ') } : {}) };
}

/** Pushes each case's share of the batch to its branch; a case whose push fails is reported. */
async function publishShares(root: string, i: Inputs, full: Progress, shared: Shared): Promise<string[]> {
  const { batchId } = full;
  const { owner, repo } = repository();
  const pushed: string[] = [];
  try {
    for (const caseId of casesOfProgress(full)) {
      const branch = imagesBranch(caseId);
      const share = caseShare(full, caseId);
      await writeProgress(root, share);
      const publisher = new BranchPublisher({
        root,
        token: i.githubToken,
        owner,
        repo,
        branch,
        cases: [caseId],
        batchId,
        // Nothing to show yet: the pull request comes with the images, when they are collected.
        base: undefined,
        plan: () => shared.branches.settle(branch, [caseId], false),
      });
      try {
        const commit = await publisher.push();
        core.info(
          `${batchId}: ${caseId}'s share (${share.pending.length} image(s)) pushed to ${branch} at ${commit.sha.slice(0, 12)}`,
        );
        pushed.push(branch);
      } catch (error) {
        core.error(
          `${batchId}: ${caseId}'s share could not be pushed to ${branch}: ${errorMessage(error)}; its images are in the Batch API job but no branch records it, so a later run plans them again`,
          { title: `${caseId}: group batch not recorded` },
        );
      }
    }
  } finally {
    // The whole record again, for the report artifact and anything that reads it after.
    await writeProgress(root, full);
  }
  return pushed;
}
