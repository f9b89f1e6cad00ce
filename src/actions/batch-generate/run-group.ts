import * as core from '@actions/core';
import type { PlanItem } from '../../batch/plan.ts';
import type { LimiterShare } from '../../batch/sync-run.ts';
import type { Branches } from '../branches.ts';
import type { Shutdown } from '../cancel.ts';
import { failureMessage, workspace } from '../inputs.ts';
import type { FinishedBatch } from '../publish.ts';
import type { Shared } from './generate.ts';
import { type CaseOutcome, type GroupStop, groupOutputs, reportGroup, stoppedEarly } from './group.ts';
import type { Inputs } from './inputs.ts';

/** What the group needs from the one-case run (injected: main.ts owns it and calls this). */
export interface GroupDeps {
  generate(i: Inputs, shutdown: Shutdown, shared: Shared): Promise<FinishedBatch[]>;
  /** Batch mode: submits the cases' plans as one batch (see submitGroupBatch). */
  submitGroup(
    i: Inputs,
    planned: PlanItem[],
    shutdown: Shutdown,
    shared: Shared,
  ): Promise<FinishedBatch | undefined>;
  makeBranches(): Branches;
  secrets: ReadonlyArray<string | undefined>;
}

/**
 * `case-ids`: the cases one after another in this one process, each exactly as a `case-id` run
 * would do it (its own batch, branch `images/<case-id>`, checkpoints and pull request), all under
 * one limiter so the per-minute pacing and a learnt ceiling carry from case to case. A cancel or
 * the deadline ends the case under way the way it ends a one-case run and leaves the later cases
 * untouched; so does any batch that stops early (cost cap, daily quota, a bad key). An error in one
 * case (say its case.json is broken) is reported and the group goes on; the step fails at the end.
 * In batch mode each case is only continued, collected and planned; the plans then go to the
 * Batch API together, as one batch (see submitGroupBatch).
 */
export async function generateGroup(i: Inputs, shutdown: Shutdown, deps: GroupDeps): Promise<void> {
  const planned: PlanItem[] = [];
  const estimate = { images: 0, costUsd: 0 };
  const batchMode = i.mode === 'batch' && !i.estimateOnly;
  const shared: Shared & { limiterShare: LimiterShare } = {
    branches: deps.makeBranches(),
    limiterShare: {},
    finishedJobs: new Map(),
    ...(batchMode ? { planOnly: (items: PlanItem[]) => planned.push(...items) } : {}),
    onEstimate: (images: number, costUsd: number) => {
      estimate.images += images;
      estimate.costUsd += costUsd;
    },
  };
  let { outcomes, stop } = await runCases(i, shutdown, shared, deps);
  let group: FinishedBatch | undefined;
  if (batchMode && planned.length > 0) {
    // A cancel or the deadline during the last plan also keeps the group's batch from going out.
    const late = stop ? undefined : whyNotStart(i, shutdown, 0);
    if (late) stop = { reason: late, untouched: [] };
    if (stop) {
      // Nothing new goes to the Batch API once the group is stopping: those cases start next time.
      const planless = [...new Set(planned.map((p) => p.caseId))];
      stop = { ...stop, untouched: [...new Set([...planless, ...stop.untouched])] };
    } else {
      group = await submitPlanned(i, planned, shutdown, shared, deps);
    }
  }
  const outputs = i.estimateOnly
    ? { total: String(estimate.images), successful: '0', failed: '0', cost: String(estimate.costUsd) }
    : groupOutputs(workspace(), outcomes, stop, group);
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
  await reportGroup(outcomes, stop, group);
  const errors = outcomes.filter((o) => o.error !== undefined).length;
  if (errors) {
    core.setFailed(`${errors} of ${i.caseIds.length} case(s) could not be generated; see the annotations`);
  }
}

/** The cases in order, until one stops early or nothing more may start. */
async function runCases(
  i: Inputs,
  shutdown: Shutdown,
  shared: Shared & { limiterShare: LimiterShare },
  deps: GroupDeps,
): Promise<{ outcomes: CaseOutcome[]; stop: GroupStop | undefined }> {
  const outcomes: CaseOutcome[] = [];
  let spent = 0;
  for (const [n, caseId] of i.caseIds.entries()) {
    const reason = whyNotStart(i, shutdown, spent);
    if (reason) return { outcomes, stop: { reason, untouched: i.caseIds.slice(n) } };
    core.info(`Case ${n + 1} of ${i.caseIds.length}: ${caseId}`);
    const outcome = await runCase(i, caseId, spent, shutdown, shared, deps);
    outcomes.push(outcome);
    spent += outcome.batches.reduce((sum, b) => sum + b.result.costUsd, 0);
    const stopped = stoppedEarly(outcome);
    if (stopped) {
      return {
        outcomes,
        stop: { reason: stopped.stopReason ?? 'stopped', untouched: i.caseIds.slice(n + 1) },
      };
    }
  }
  return { outcomes, stop: undefined };
}

/** The group's one batch; an error in it fails the step but keeps what the cases already did. */
async function submitPlanned(
  i: Inputs,
  planned: PlanItem[],
  shutdown: Shutdown,
  shared: Shared,
  deps: GroupDeps,
): Promise<FinishedBatch | undefined> {
  try {
    return await deps.submitGroup(i, planned, shutdown, shared);
  } catch (error) {
    core.setFailed(`The group's batch could not be submitted: ${failureMessage(error, deps.secrets)}`);
    return undefined;
  }
}

/** A reason to start no further case: a cancel, the deadline, or a max-cost already spent. */
function whyNotStart(i: Inputs, shutdown: Shutdown, spent: number): string | undefined {
  if (shutdown.signal.aborted) return String(shutdown.signal.reason ?? 'stopped');
  if (i.maxCost !== undefined && spent >= i.maxCost) return `max-cost ${i.maxCost} spent`;
  return undefined;
}

/** One case of the group, as a `case-id` run; its own artifact name, and what is left of max-cost. */
async function runCase(
  i: Inputs,
  caseId: string,
  spent: number,
  shutdown: Shutdown,
  shared: { branches: Branches; limiterShare: LimiterShare },
  deps: GroupDeps,
): Promise<CaseOutcome> {
  const inputs: Inputs = {
    ...i,
    caseId,
    caseIds: [],
    // max-cost is the group's: each case may spend what the ones before it left.
    maxCost: i.maxCost === undefined ? undefined : i.maxCost - spent,
    // Artifact names are unique within a workflow run: one per case.
    artifactName: i.artifactName === undefined ? undefined : `${i.artifactName}-${caseId}`,
  };
  try {
    return { caseId, batches: await deps.generate(inputs, shutdown, shared) };
  } catch (error) {
    return { caseId, batches: [], error: failureMessage(error, deps.secrets) };
  }
}
