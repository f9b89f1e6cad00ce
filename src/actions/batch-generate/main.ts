import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as core from '@actions/core';
import { readBatchFile } from '../../batch/batch-file.ts';
import { collectSubmitted, isCollectable } from '../../batch/batch-mode/index.ts';
import type { ImageType, PlanSource } from '../../batch/plan.ts';
import { prepareRun } from '../../batch/prepare-run.ts';
import { BATCH_ID_PATTERN, readProgress } from '../../batch/progress.ts';
import type { BatchSummary } from '../../batch/types.ts';
import { assertCaseId } from '../../cases/ids.ts';
import { InputError } from '../../errors.ts';
import { uploadReports } from '../../github/artifact.ts';
import { buildPullRequestBody, buildSummaryMarkdown, formatUsd } from '../../github/gallery.ts';
import { commitAndPush } from '../../github/git.ts';
import { makeOctokit, type Octokit, upsertPullRequest } from '../../github/pull-request.ts';
import { annotateFailures, annotateVerdicts, writeJobSummary } from '../../github/summary.ts';
import { createQualityCheck } from '../../quality/index.ts';
import { writeBatchStats } from '../../stats/index.ts';
import { type BranchPlan, baseBranch, overlayFromCommit, planBranch } from '../branch-state.ts';
import {
  casesOfBatch,
  galleryFailures,
  galleryForCases,
  logEvents,
  progressPath,
} from '../gallery-images.ts';
import {
  booleanInput,
  failureMessage,
  maskSecrets,
  numberInput,
  oneOf,
  optionalInput,
  repository,
  workspace,
} from '../inputs.ts';

const TYPES: readonly ImageType[] = ['all', 'suspects', 'scene'];

interface Inputs {
  caseId: string | undefined;
  type: ImageType;
  batchFile: string | undefined;
  resume: string | undefined;
  force: boolean;
  scanAll: boolean;
  fix: boolean;
  model: string | undefined;
  provider: 'gemini' | 'placeholder' | undefined;
  maxCost: number | undefined;
  estimateOnly: boolean;
  apiKey: string | undefined;
  githubToken: string | undefined;
  commit: boolean;
  openPr: boolean;
  artifactName: string | undefined;
  mode: 'sync' | 'batch';
}

function readInputs(): Inputs {
  return {
    caseId: optionalInput('case-id'),
    type: oneOf('type', TYPES) ?? 'all',
    batchFile: optionalInput('batch-file'),
    resume: optionalInput('resume'),
    force: booleanInput('force', false),
    scanAll: booleanInput('scan-all', false),
    fix: booleanInput('fix', false),
    model: optionalInput('model'),
    provider: oneOf('provider', ['gemini', 'placeholder'] as const),
    maxCost: numberInput('max-cost'),
    estimateOnly: booleanInput('estimate-only', false),
    apiKey: optionalInput('gemini-api-key') ?? (process.env.GEMINI_API_KEY?.trim() || undefined),
    githubToken: optionalInput('github-token'),
    commit: booleanInput('commit', false),
    openPr: booleanInput('open-pr', false),
    artifactName: optionalInput('artifact-name'),
    mode: oneOf('mode', ['sync', 'batch'] as const) ?? 'sync',
  };
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

function setOutputs(values: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(values)) core.setOutput(name, String(value));
}

/** Files the pull request carries for these cases: their images directory (manifest included) and case.json. */
function casePaths(caseIds: readonly string[]): string[] {
  return caseIds.flatMap((id) => [join('cases', id, 'images'), join('cases', id, 'case.json')]);
}

/**
 * What a run brings over from a branch it continues: the cases' images (manifest included) and
 * reports/progress (batch ids are numbered from the files present, and a rerun must not claim, and
 * overwrite on the branch, an id the branch already used). A case.json only where the checkout has
 * none (a case that exists only on the branch so far): the base branch owns the case data, so an
 * edit made there is what the scan and the prompts see.
 */
function overlayPaths(root: string, caseIds: readonly string[]): string[] {
  return [
    ...caseIds.flatMap((id) => [
      join('cases', id, 'images'),
      ...(existsSync(join(root, 'cases', id, 'case.json')) ? [] : [join('cases', id, 'case.json')]),
    ]),
    join('reports', 'progress'),
  ];
}

/** The branch a batch's images go to: `images/<case-id>` for one case, `images/<batch-id>` for several. */
function branchOf(batchId: string, cases: readonly string[]): string {
  return cases.length === 1 ? `images/${cases[0]}` : `images/${batchId}`;
}

/**
 * The pull request's base; never the head branch itself (a run dispatched from an `images/…` ref
 * whose repository default could not be read would otherwise target its own branch).
 */
async function pullRequestBase(root: string, head: string): Promise<string> {
  const base = await baseBranch(root, await eventPayload());
  if (base === head) {
    throw new InputError(
      `the pull request for ${head} would target ${base} itself; run the workflow from the default branch`,
      { field: 'GITHUB_REF' },
    );
  }
  return base;
}

/**
 * The run's view of the `images/…` branches it writes: each branch is looked at once (see
 * BranchPlan). A branch the run continues from is overlaid into the working tree before anything
 * is planned or generated for it, so the run adds to what the branch already holds.
 */
class Branches {
  private readonly plans = new Map<string, BranchPlan>();
  /** Paths already brought over per branch: a second look only adds what the first did not cover. */
  private readonly overlaid = new Map<string, Set<string>>();
  private octokit: Octokit | undefined;

  constructor(
    private readonly root: string,
    private readonly token: string | undefined,
  ) {}

  /** Decides the branch; with `overlay`, brings a continued branch's state into the working tree. */
  async settle(branch: string, cases: readonly string[], overlay: boolean): Promise<BranchPlan> {
    const plan = this.plans.get(branch) ?? (await this.decide(branch));
    if (plan.kind === 'continue' && overlay) {
      const done = this.overlaid.get(branch) ?? new Set<string>();
      this.overlaid.set(branch, done);
      const paths = overlayPaths(this.root, cases).filter((p) => !done.has(p));
      for (const p of paths) done.add(p);
      const brought = paths.length ? await overlayFromCommit(this.root, plan.tip, paths) : [];
      if (brought.length)
        core.info(`Continuing from ${branch} (${plan.tip.slice(0, 12)}): ${brought.join(', ')}`);
    }
    return plan;
  }

  private async decide(branch: string): Promise<BranchPlan> {
    if (!this.token) throw new InputError('commit needs github-token', { field: 'github-token' });
    this.octokit ??= makeOctokit(this.token);
    const { owner, repo } = repository();
    const plan = await planBranch({
      cwd: this.root,
      branch,
      token: this.token,
      octokit: this.octokit,
      owner,
      repo,
    });
    this.plans.set(branch, plan);
    if (plan.kind === 'fresh') {
      core.info(
        `${branch}: pull request #${plan.pullRequest} was ${plan.merged ? 'merged' : 'closed'} and the branch still holds it (${plan.tip.slice(0, 12)}); starting the branch over from the checkout`,
      );
    }
    return plan;
  }
}

async function generate(i: Inputs): Promise<void> {
  const root = workspace();
  if (i.openPr && !i.commit) {
    throw new InputError('open-pr needs commit: true (the pull request shows the committed images)', {
      field: 'open-pr',
    });
  }
  if ((i.commit || i.openPr) && !i.githubToken) {
    throw new InputError('commit and open-pr need github-token', { field: 'github-token' });
  }
  // Never a silent placeholder in CI: without a key this throws unless provider: placeholder was asked for.
  const setup = await prepareRun(root, i, {
    apiKey: i.apiKey,
    allowFallback: false,
    warn: (message) => core.warning(message),
    flag: (name) => name,
    keyName: 'gemini-api-key',
  });
  const { config, provider, batchClient } = setup;
  const branches = new Branches(root, i.githubToken);
  // Resuming a batch over several cases from a checkout without its progress file: the file is on
  // images/<batch-id> (a one-case batch's is on images/<case-id>, which a case-id run brings).
  if (
    i.commit &&
    i.resume &&
    BATCH_ID_PATTERN.test(i.resume) &&
    !existsSync(join(root, progressPath(i.resume)))
  ) {
    await branches.settle(`images/${i.resume}`, [], true);
  }
  // Before the scan looks at the case (case-id with fix): what the branch already holds counts.
  if (i.commit && i.caseId) await branches.settle(`images/${assertCaseId(i.caseId)}`, [i.caseId], true);
  // Batch mode (nightly): first collect what earlier runs submitted, so the plan below sees those images.
  let collectedCount = 0;
  const waiting: string[] = [];
  if (i.mode === 'batch' && batchClient && !i.resume && !i.estimateOnly) {
    // A batch over several cases lives on images/<batch-id>: continue from that branch before the
    // collected images are written, so they land on top of what it already holds.
    if (i.commit) {
      for (const batchId of await collectableBatches(root)) {
        const batchCases = await casesOfBatch(root, batchId);
        await branches.settle(branchOf(batchId, batchCases), batchCases, true);
      }
    }
    const collected = await collectSubmitted(root, {
      config,
      provider,
      client: batchClient,
      events: logEvents(),
      check: createQualityCheck(root),
      warn: (message) => core.warning(message),
    });
    for (const done of collected) {
      if (done.status === 'submitted') {
        core.info(`${done.batchId}: still running at Gemini; collected next time`);
        waiting.push(done.batchId);
        continue;
      }
      const doneCases = await casesOfBatch(root, done.batchId);
      const artifactName = `${i.artifactName ?? 'lineup-report'}-${done.batchId}`;
      await finish(root, { ...i, artifactName }, done, {
        cases: doneCases,
        branch: undefined,
        branches,
      });
      collectedCount += 1;
    }
  }
  const run = await setup.choose(i);

  if (run.estimateOnly) {
    const plan = await run.estimate();
    core.info(
      `${plan.items.length} image(s) to generate (${plan.skipped.length} already present) with ${provider.name}/${provider.model}: about ${formatUsd(plan.estimatedCostUsd)} (cap ${formatUsd(config.cost.maxCost)})`,
    );
    for (const item of plan.items) core.info(`  ${item.key}`);
    setOutputs({ total: plan.items.length, successful: 0, failed: 0, cost: plan.estimatedCostUsd });
    return;
  }

  const cases = await plannedCases(root, run.source, i.resume);
  // One case, or a resumed batch: its branch is known now, and the run continues from what that
  // branch already holds (when it is work in progress, see BranchPlan).
  const branch = cases.length === 1 ? `images/${cases[0]}` : i.resume ? `images/${i.resume}` : undefined;
  if (i.commit && branch) await branches.settle(branch, cases, true);
  // Refuse before anything is generated when the pull request could not be opened.
  if (i.openPr && branch) await pullRequestBase(root, branch);

  let grouped = false;
  const result = await run
    .run({
      events: logEvents(),
      ...(process.env.GITHUB_RUN_ID
        ? {
            // Not the run attempt: re-running a failed attempt continues the same batch id and branch.
            batchIdScope: `${process.env.GITHUB_RUN_ID}-${i.caseId ?? i.batchFile ?? 'scan'}`,
          }
        : {}),
      onBatchId: (batchId) => {
        core.setOutput('batch-id', batchId);
        core.startGroup(`Batch ${batchId}`);
        grouped = true;
      },
    })
    .finally(() => {
      if (grouped) core.endGroup();
    });

  if (result.batchId === null) {
    const inFlight = waiting.length
      ? ` Waiting in Batch API jobs, collected next time: ${waiting.join(', ')}.`
      : '';
    if (collectedCount > 0) {
      // The outputs and the job summary already describe the batch(es) collected above: keep them.
      core.info(`Nothing new to generate after collecting ${collectedCount} batch(es).${inFlight}`);
      return;
    }
    core.info(
      `Nothing to generate: ${result.skipped} image(s) already present (use force to regenerate).${inFlight}`,
    );
    setOutputs({ total: 0, successful: 0, failed: 0, cost: 0 });
    await writeJobSummary(
      `## lineup images\n\nNothing to generate: ${result.skipped} image(s) already present.${inFlight}\n`,
    );
    return;
  }
  await finish(root, i, result, { cases, branch, branches });
}

/** Batch-mode batches in the working tree that are waiting to be collected. */
async function collectableBatches(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(join(root, 'reports', 'progress'))).filter(
      (n) => n.endsWith('.json') && !n.startsWith('.'),
    );
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    try {
      const progress = await readProgress(root, name.slice(0, -'.json'.length));
      if (isCollectable(progress)) out.push(progress.batchId);
    } catch {
      // collectSubmitted reports a broken file itself.
    }
  }
  return out;
}

async function finish(
  root: string,
  i: Inputs,
  result: BatchSummary,
  state: { cases: string[]; branch: string | undefined; branches: Branches },
): Promise<void> {
  const cases = state.cases.length ? state.cases : await casesOfBatch(root, result.batchId);
  const branch = state.branch ?? branchOf(result.batchId, cases);
  const reportPath = relative(root, result.errorReportFile);
  setOutputs({
    'batch-id': result.batchId,
    total: result.total,
    successful: result.successful,
    failed: result.failed,
    cost: result.costUsd,
    'report-path': reportPath,
  });
  core.info(
    `${result.batchId}: ${result.successful}/${result.total} done, ${result.failed} failed, ${result.pending} pending, ${formatUsd(result.costUsd)}` +
      (result.stopReason ? ` (stopped: ${result.stopReason})` : ''),
  );
  annotateFailures(result.failures);

  const { owner, repo } = repository();
  let sha: string | undefined;
  let pullRequestUrl = '';
  const base = i.openPr ? await pullRequestBase(root, branch) : undefined;
  if (i.commit) {
    // A branch first seen here (a new batch over several cases) is not overlaid: its images are made.
    const plan = await state.branches.settle(branch, cases, false);
    const commit = await commitAndPush({
      cwd: root,
      branch,
      paths: [...casePaths(cases), progressPath(result.batchId)],
      message: `lineup: images for ${cases.length === 1 ? cases[0] : `${cases.length} cases`} (${result.batchId})`,
      ...(i.githubToken ? { token: i.githubToken } : {}),
      // A branch whose pull request was merged or closed starts over from the checkout.
      ...(plan.kind === 'fresh' ? { fresh: true, expectedTip: plan.tip } : {}),
    });
    sha = commit.sha;
    core.setOutput('branch', branch);
    core.info(
      commit.changed ? `Pushed ${sha.slice(0, 12)} to ${branch}` : `Nothing new to commit on ${branch}`,
    );
    if (!commit.changed && plan.kind !== 'continue') sha = undefined;
  }

  const images = await galleryForCases(root, cases, { generated: result.generated });
  annotateVerdicts(images, result.generated);
  const failures = galleryFailures(result);
  if (i.openPr && base && sha && i.githubToken && images.length > 0) {
    const pr = await upsertPullRequest({
      octokit: makeOctokit(i.githubToken),
      owner,
      repo,
      head: branch,
      base,
      title:
        cases.length === 1
          ? `Images for ${cases[0]}`
          : `Images for ${cases.length} cases (${result.batchId})`,
      body: buildPullRequestBody({ owner, repo, sha, images, batchId: result.batchId, failures }),
      labels: ['lineup', 'images'],
    });
    pullRequestUrl = pr.url;
    core.setOutput('pull-request-url', pr.url);
    core.info(`${pr.created ? 'Opened' : 'Updated'} pull request #${pr.number}: ${pr.url}`);
  }

  const summary = buildSummaryMarkdown({
    owner,
    repo,
    sha: sha ?? 'HEAD',
    images,
    batchId: result.batchId,
    failures,
    title: `lineup ${result.batchId}: ${result.successful}/${result.total} images, ${formatUsd(result.costUsd)}`,
  });
  await writeJobSummary(
    summary +
      (pullRequestUrl ? `\nPull request: ${pullRequestUrl}\n` : '') +
      (i.commit ? `\nBranch: \`${branch}\`\n` : ''),
  );

  await uploadRunReports(root, i.artifactName ?? `lineup-report-${result.batchId}`, result);

  if (result.status === 'submitted') {
    core.info(`Submitted to the Gemini Batch API; collect the images later with resume: ${result.batchId}`);
  } else if (result.exitCode === 3) {
    core.warning(
      `Stopped early on purpose (${result.stopReason ?? 'stopped'}); ${result.pending} image(s) left pending. Run again with resume: ${result.batchId}`,
      { title: 'lineup batch stopped early' },
    );
  } else if (result.exitCode !== 0) {
    core.setFailed(
      `${result.failed} of ${result.total} image(s) failed in ${result.batchId}; see the annotations and ${reportPath}`,
    );
  }
}

/** Error report, log and the stats table as one artifact; a missing artifact service is a warning, not a failed run. */
async function uploadRunReports(root: string, name: string, result: BatchSummary): Promise<void> {
  const files = [result.errorReportFile, result.logFile];
  try {
    const stats = await writeBatchStats(root);
    files.push(stats.csvFile, stats.svgFile);
  } catch (error) {
    core.warning(
      `Could not write the stats table: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!process.env.ACTIONS_RUNTIME_TOKEN || !process.env.ACTIONS_RESULTS_URL) {
    core.warning(
      'No artifact service in this environment (ACTIONS_RUNTIME_TOKEN unset); reports not uploaded.',
    );
    return;
  }
  try {
    const uploaded = await uploadReports({ name, files, rootDirectory: root });
    if (uploaded) core.info(`Uploaded ${uploaded.files.length} report file(s) as artifact ${name}`);
  } catch (error) {
    core.warning(`Could not upload the reports: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function eventPayload(): Promise<Record<string, unknown> | undefined> {
  const path = process.env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The action: one top-level catch, so every failure is one clear line and the key is never in it. */
export async function run(): Promise<void> {
  let secrets: Array<string | undefined> = [];
  try {
    const apiKeyInput = core.getInput('gemini-api-key').trim() || process.env.GEMINI_API_KEY?.trim();
    const tokenInput = core.getInput('github-token').trim();
    secrets = [apiKeyInput, tokenInput];
    maskSecrets(apiKeyInput, tokenInput);
    await generate(readInputs());
  } catch (error) {
    core.setFailed(failureMessage(error, secrets));
  }
}
