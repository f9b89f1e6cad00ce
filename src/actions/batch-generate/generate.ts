import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as core from '@actions/core';
import { collectSubmitted, finishedJobsOnce, isCollectable } from '../../batch/batch-mode/index.ts';
import type { PlanItem, PlanSource } from '../../batch/plan.ts';
import { BATCH_ID_PATTERN, type Progress, readProgress } from '../../batch/progress.ts';
import type { LimiterShare } from '../../batch/sync-run.ts';
import { readBatchFile } from '../../cases/batch-file.ts';
import { assertCaseId } from '../../cases/ids.ts';
import { ExitCode } from '../../errors.ts';
import { formatUsd } from '../../github/gallery.ts';
import { branchOfBatch, imagesBranch } from '../../github/refs.ts';
import { writeJobSummary } from '../../github/summary.ts';
import type { BatchJobInfo } from '../../providers/gemini-batch.ts';
import { createQualityCheck } from '../../quality/index.ts';
import { type ChosenRun, type PreparedRun, prepareRun } from '../../run/prepare-run.ts';
import { Branches, pullRequestBase } from '../branches.ts';
import type { Shutdown } from '../cancel.ts';
import { casesOfBatch, casesOfProgress, logEvents, progressPath } from '../gallery-images.ts';
import { actionFace, repository, workspace } from '../inputs.ts';
import { BranchPublisher, type FinishedBatch, publishBatch, setOutputs } from '../publish.ts';
import type { Inputs } from './inputs.ts';
import { LiveBatch } from './live-batch.ts';

/** The run's set-up (config, provider, Batch API client) as the action does it. */
export function prepare(root: string, i: Inputs): Promise<PreparedRun> {
  return prepareRun(root, i, actionFace(i.apiKey));
}

/** What the cases of a group share; `planOnly` stops a case after its collection and plan. */
export interface Shared {
  branches: Branches;
  /** A group's finished Batch API jobs, fetched once for all its cases (see finishedJobsOnce). */
  finishedJobs?: Map<string, Promise<BatchJobInfo>>;
  limiterShare?: LimiterShare;
  /** Batch mode in a group: the case's plan goes here instead of being submitted on its own. */
  planOnly?: (items: PlanItem[]) => void;
  /** estimate-only in a group: each case's count and price, summed into the group's outputs. */
  onEstimate?: (images: number, costUsd: number) => void;
}

/** One case (or batch file, resume, scan) of the run; a group calls it once per case. */
export async function generate(
  i: Inputs,
  shutdown: Shutdown,
  shared: Shared = { branches: new Branches(workspace(), i.githubToken) },
): Promise<FinishedBatch[]> {
  const root = workspace();
  const setup = await prepare(root, i);
  await continueBranches(root, i, shared.branches);
  const collected = await collectEarlier(root, i, setup, shared, shutdown);
  // A cancel or the deadline during the nightly's collection: what was collected is published
  // above, and nothing new is planned or submitted. (In sync mode the run below ends as stopped.)
  if (i.mode === 'batch' && shutdown.signal.aborted) {
    await stoppedBeforePlanning(String(shutdown.signal.reason), collected);
    return collected.finished;
  }
  const run = await setup.choose(i);
  if (run.estimateOnly) {
    await estimate(setup, run, shared);
    return collected.finished;
  }
  if (shared.planOnly) {
    shared.planOnly((await run.estimate()).items);
    return collected.finished;
  }
  const made = await runNew(root, i, run, shutdown, shared);
  if ('skipped' in made) {
    await nothingToGenerate(made.skipped, collected);
    return collected.finished;
  }
  return [...collected.finished, made];
}

/**
 * Before the scan looks at anything: a branch the run is known to continue is brought into the
 * working tree (a case-id run's `images/<case-id>`; a resumed batch over several cases, whose
 * progress file is only on `images/<batch-id>`).
 */
async function continueBranches(root: string, i: Inputs, branches: Branches): Promise<void> {
  if (!i.commit) return;
  if (i.resume && BATCH_ID_PATTERN.test(i.resume) && !existsSync(join(root, progressPath(i.resume)))) {
    await branches.settle(imagesBranch(i.resume), [], true);
  }
  if (i.caseId) await branches.settle(imagesBranch(assertCaseId(i.caseId)), [i.caseId], true);
}

interface Collected {
  finished: FinishedBatch[];
  /** Batch API jobs still running at Gemini. */
  waiting: string[];
}

/** Batch mode (nightly): first collect what earlier runs submitted, so the plan sees those images. */
async function collectEarlier(
  root: string,
  i: Inputs,
  setup: PreparedRun,
  shared: Shared,
  shutdown: Shutdown,
): Promise<Collected> {
  const out: Collected = { finished: [], waiting: [] };
  const { config, provider, batchClient } = setup;
  if (i.mode !== 'batch' || !batchClient || i.resume || i.estimateOnly) return out;
  const { branches, finishedJobs } = shared;
  // A batch over several cases lives on images/<batch-id>: continue from that branch before the
  // collected images are written, so they land on top of what it already holds.
  if (i.commit) {
    for (const progress of await collectableBatches(root)) {
      const batchCases = casesOfProgress(progress);
      await branches.settle(branchOfBatch(progress.batchId, batchCases), batchCases, true);
    }
  }
  const collected = await collectSubmitted(root, {
    config,
    provider,
    client: finishedJobs ? finishedJobsOnce(batchClient, finishedJobs) : batchClient,
    events: logEvents(),
    // A cancel or the deadline stops the synchronous fallback of dead jobs like any run; what was
    // collected and made is published below, before the runner's kill.
    signal: shutdown.signal,
    abandon: shutdown.abandon,
    check: createQualityCheck(root),
    warn: (message) => core.warning(message),
  });
  for (const done of collected) {
    if (done.status === 'submitted') {
      core.info(`${done.batchId}: still running at Gemini; collected next time`);
      out.waiting.push(done.batchId);
      continue;
    }
    const artifactName = `${i.artifactName ?? 'lineup-report'}-${done.batchId}`;
    const publisher = () =>
      publisherFor(root, i, { batchId: done.batchId, cases: [], branch: undefined, branches });
    out.finished.push(await publishBatch(publishOptions(root, { ...i, artifactName }), done, publisher));
  }
  return out;
}

/** estimate-only: the count and the price, nothing written. */
async function estimate(setup: PreparedRun, run: ChosenRun, shared: Shared): Promise<void> {
  const plan = await run.estimate();
  const { provider, config } = setup;
  core.info(
    `${plan.items.length} image(s) to generate (${plan.skipped.length} already present) with ${provider.name}/${provider.model}: about ${formatUsd(plan.estimatedCostUsd)} (cap ${formatUsd(config.cost.maxCost)})`,
  );
  for (const item of plan.items) core.info(`  ${item.key}`);
  setOutputs({ total: plan.items.length, successful: 0, failed: 0, cost: plan.estimatedCostUsd });
  shared.onEstimate?.(plan.items.length, plan.estimatedCostUsd);
}

/** The new batch: its branch settled first, checkpoints while it runs, published at its end. */
async function runNew(
  root: string,
  i: Inputs,
  run: ChosenRun,
  shutdown: Shutdown,
  shared: Shared,
): Promise<FinishedBatch | { skipped: number }> {
  const { branches } = shared;
  const cases = await plannedCases(root, run.source, i.resume);
  // One case, or a resumed batch: its branch is known now, and the run continues from what that
  // branch already holds (when it is work in progress, see BranchPlan).
  const branch =
    cases.length === 1 ? imagesBranch(cases[0] ?? '') : i.resume ? imagesBranch(i.resume) : undefined;
  if (i.commit && branch) await branches.settle(branch, cases, true);
  // Refuse before anything is generated when the pull request could not be opened.
  if (i.openPr && branch) await pullRequestBase(root, branch);

  let grouped = false;
  const live = new LiveBatch(i, shutdown, (batchId) =>
    publisherFor(root, i, { batchId, cases, branch, branches }),
  );
  const result = await run
    .run({
      events: live.events,
      signal: shutdown.signal,
      abandon: shutdown.abandon,
      ...(process.env.GITHUB_RUN_ID
        ? {
            // Not the run attempt: re-running a failed attempt continues the same batch id and branch.
            batchIdScope: `${process.env.GITHUB_RUN_ID}-${i.caseId ?? i.batchFile ?? 'scan'}`,
          }
        : {}),
      ...(shared.limiterShare ? { limiterShare: shared.limiterShare } : {}),
      onBatchId: (batchId) => {
        core.setOutput('batch-id', batchId);
        core.startGroup(`Batch ${batchId}`);
        grouped = true;
        live.begin(batchId);
      },
    })
    .finally(async () => {
      if (grouped) core.endGroup();
      await live.close();
    });
  if (result.batchId === null) return { skipped: result.skipped };
  const { batchId } = result;
  return publishBatch(
    { ...publishOptions(root, i), onPushed: (at, b, sha) => live.reportCancelPush(at, b, sha) },
    result,
    () => live.branchPublisher ?? publisherFor(root, i, { batchId, cases, branch, branches }),
  );
}

/** The sentence naming the Batch API jobs still running at Gemini; '' when none. */
function waitingNote(collected: Collected): string {
  const { waiting } = collected;
  return waiting.length ? ` Waiting in Batch API jobs, collected next time: ${waiting.join(', ')}.` : '';
}

/** A run that made no batch: the collected batches speak for it, else it says there was nothing to do. */
async function nothingToGenerate(skipped: number, collected: Collected): Promise<void> {
  const { finished } = collected;
  const inFlight = waitingNote(collected);
  if (finished.length > 0) {
    // The outputs and the job summary already describe the batch(es) collected above: keep them.
    core.info(`Nothing new to generate after collecting ${finished.length} batch(es).${inFlight}`);
    return;
  }
  core.info(`Nothing to generate: ${skipped} image(s) already present (use force to regenerate).${inFlight}`);
  setOutputs({ total: 0, successful: 0, failed: 0, cost: 0 });
  await writeJobSummary(
    `## lineup images\n\nNothing to generate: ${skipped} image(s) already present.${inFlight}\n`,
  );
}

/** A batch-mode run stopped after collecting: a warning says why and how to go on, and the step says so. */
async function stoppedBeforePlanning(reason: string, collected: Collected): Promise<void> {
  const message = `Stopped before planning new images (${reason}); run the same workflow again to go on.${waitingNote(collected)}`;
  if (collected.finished.length === 0) {
    // Nothing was collected, so no batch set the outputs or the job summary: this run's are these.
    setOutputs({ total: 0, successful: 0, failed: 0, cost: 0, 'exit-code': ExitCode.stoppedEarly });
    await writeJobSummary(`## lineup images\n\n${message}\n`);
  }
  core.warning(message, { title: 'lineup batch stopped early' });
}

function publishOptions(root: string, i: Inputs) {
  return { root, commit: i.commit, openPr: i.openPr, token: i.githubToken, artifactName: i.artifactName };
}

/** Which cases the run will write, known before it starts (so the branch can be picked first). */
async function plannedCases(root: string, source: PlanSource | undefined, resume: string | undefined) {
  if (resume) return casesOfBatch(root, resume);
  if (!source) return [];
  switch (source.kind) {
    case 'case':
      return [source.caseId];
    case 'batch-file':
      return [...new Set((await readBatchFile(source.path)).images.map((i) => i.caseId))];
    case 'images':
      return [...new Set(source.images.map((i) => i.caseId))];
  }
}

/** The publisher of a batch's branch: its cases, branch and pull request base are settled here. */
async function publisherFor(
  root: string,
  i: Inputs,
  state: { batchId: string; cases: string[]; branch: string | undefined; branches: Branches },
): Promise<BranchPublisher> {
  const cases = state.cases.length ? state.cases : await casesOfBatch(root, state.batchId);
  const branch = state.branch ?? branchOfBatch(state.batchId, cases);
  const { owner, repo } = repository();
  return new BranchPublisher({
    root,
    token: i.githubToken,
    owner,
    repo,
    branch,
    cases,
    batchId: state.batchId,
    base: i.openPr ? await pullRequestBase(root, branch) : undefined,
    // A branch first seen here (a new batch over several cases) is not overlaid: its images are made.
    plan: () => state.branches.settle(branch, cases, false),
  });
}

/** Batch-mode batches in the working tree that are waiting to be collected. */
async function collectableBatches(root: string): Promise<Progress[]> {
  let names: string[];
  try {
    names = (await readdir(join(root, 'reports', 'progress'))).filter(
      (n) => n.endsWith('.json') && !n.startsWith('.'),
    );
  } catch {
    return [];
  }
  const out: Progress[] = [];
  for (const name of names.sort()) {
    try {
      const progress = await readProgress(root, name.slice(0, -'.json'.length));
      if (isCollectable(progress)) out.push(progress);
    } catch {
      // collectSubmitted reports a broken file itself.
    }
  }
  return out;
}
