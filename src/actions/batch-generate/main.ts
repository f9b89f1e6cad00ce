import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as core from '@actions/core';
import { collectSubmitted, isCollectable } from '../../batch/batch-mode/index.ts';
import type { BatchEvents } from '../../batch/events.ts';
import type { ImageType, PlanItem, PlanSource } from '../../batch/plan.ts';
import { BATCH_ID_PATTERN, readProgress } from '../../batch/progress.ts';
import type { LimiterShare } from '../../batch/sync-run.ts';
import type { BatchSummary } from '../../batch/types.ts';
import { readBatchFile } from '../../cases/batch-file.ts';
import { assertCaseId } from '../../cases/ids.ts';
import { InputError } from '../../errors.ts';
import { uploadReports } from '../../github/artifact.ts';
import { buildSummaryMarkdown, formatUsd, type GalleryFailure } from '../../github/gallery.ts';
import { makeOctokit, type Octokit } from '../../github/pull-request.ts';
import { annotateFailures, annotateVerdicts, writeJobSummary } from '../../github/summary.ts';
import { createQualityCheck } from '../../quality/index.ts';
import { type PreparedRun, prepareRun } from '../../run/prepare-run.ts';
import { writeBatchStats } from '../../stats/index.ts';
import { errorMessage } from '../../util/error-message.ts';
import { type BranchPlan, baseBranch, overlayFromCommit, planBranch } from '../branch-state.ts';
import { Shutdown } from '../cancel.ts';
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
import { Checkpoints } from './checkpoint.ts';
import { type FinishedBatch, parseCaseIds } from './group.ts';
import { submitGroupBatch } from './group-batch.ts';
import { BranchPublisher } from './publish.ts';
import { generateGroup } from './run-group.ts';

const TYPES: readonly ImageType[] = ['all', 'suspects', 'scene'];

export interface Inputs {
  caseId: string | undefined;
  /** `case-ids`: a group of cases run one after another, each on its own branch and pull request. */
  caseIds: string[];
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
  checkpointImages: number;
  checkpointMinutes: number;
  deadlineMinutes: number | undefined;
}

function readInputs(): Inputs {
  return {
    caseId: optionalInput('case-id'),
    caseIds: parseCaseIds(optionalInput('case-ids')),
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
    checkpointImages: Math.floor(numberInput('checkpoint-images') ?? 10),
    checkpointMinutes: numberInput('checkpoint-minutes') ?? 5,
    deadlineMinutes: deadlineInput(),
  };
}

/** `deadline-minutes`: empty or 0 means none. */
function deadlineInput(): number | undefined {
  const minutes = numberInput('deadline-minutes');
  return minutes ? minutes : undefined;
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
export class Branches {
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

/** Checks that hold for the whole run, before anything is planned. */
function checkInputs(i: Inputs): void {
  if (i.openPr && !i.commit) {
    throw new InputError('open-pr needs commit: true (the pull request shows the committed images)', {
      field: 'open-pr',
    });
  }
  if ((i.commit || i.openPr) && !i.githubToken) {
    throw new InputError('commit and open-pr need github-token', { field: 'github-token' });
  }
  if (i.caseIds.length && (i.caseId || i.batchFile || i.resume || i.scanAll)) {
    throw new InputError('give case-ids alone, not with case-id, batch-file, resume or scan-all', {
      field: 'case-ids',
    });
  }
}

/** The run's set-up (config, provider, Batch API client) as the action does it. */
export function prepare(root: string, i: Inputs): Promise<PreparedRun> {
  // Never a silent placeholder in CI: without a key this throws unless provider: placeholder was asked for.
  return prepareRun(root, i, {
    apiKey: i.apiKey,
    allowFallback: false,
    warn: (message) => core.warning(message),
    flag: (name) => name,
    keyName: 'gemini-api-key',
  });
}

/** What the cases of a group share; `planOnly` stops a case after its collection and plan. */
export interface Shared {
  branches: Branches;
  limiterShare?: LimiterShare;
  /** Batch mode in a group: the case's plan goes here instead of being submitted on its own. */
  planOnly?: (items: PlanItem[]) => void;
  /** estimate-only in a group: each case's count and price, summed into the group's outputs. */
  onEstimate?: (images: number, costUsd: number) => void;
}

/** One case (or batch file, resume, scan) of the run; a group calls it once per case. */
async function generate(
  i: Inputs,
  shutdown: Shutdown,
  shared: Shared = { branches: new Branches(workspace(), i.githubToken) },
): Promise<FinishedBatch[]> {
  const root = workspace();
  checkInputs(i);
  const finished: FinishedBatch[] = [];
  const setup = await prepare(root, i);
  const { config, provider, batchClient } = setup;
  const { branches } = shared;
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
      finished.push(
        await finish(root, { ...i, artifactName }, done, {
          cases: doneCases,
          branch: undefined,
          branches,
        }),
      );
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
    shared.onEstimate?.(plan.items.length, plan.estimatedCostUsd);
    return finished;
  }
  if (shared.planOnly) {
    shared.planOnly((await run.estimate()).items);
    return finished;
  }

  const cases = await plannedCases(root, run.source, i.resume);
  // One case, or a resumed batch: its branch is known now, and the run continues from what that
  // branch already holds (when it is work in progress, see BranchPlan).
  const branch = cases.length === 1 ? `images/${cases[0]}` : i.resume ? `images/${i.resume}` : undefined;
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

  if (result.batchId === null) {
    const inFlight = waiting.length
      ? ` Waiting in Batch API jobs, collected next time: ${waiting.join(', ')}.`
      : '';
    if (collectedCount > 0) {
      // The outputs and the job summary already describe the batch(es) collected above: keep them.
      core.info(`Nothing new to generate after collecting ${collectedCount} batch(es).${inFlight}`);
      return finished;
    }
    core.info(
      `Nothing to generate: ${result.skipped} image(s) already present (use force to regenerate).${inFlight}`,
    );
    setOutputs({ total: 0, successful: 0, failed: 0, cost: 0 });
    await writeJobSummary(
      `## lineup images\n\nNothing to generate: ${result.skipped} image(s) already present.${inFlight}\n`,
    );
    return finished;
  }
  finished.push(await finish(root, i, result, { cases, branch, branches, live }));
  return finished;
}

/** The publisher of a batch's branch: its cases, branch and pull request base are settled here. */
async function publisherFor(
  root: string,
  i: Inputs,
  state: { batchId: string; cases: string[]; branch: string | undefined; branches: Branches },
): Promise<BranchPublisher> {
  const cases = state.cases.length ? state.cases : await casesOfBatch(root, state.batchId);
  const branch = state.branch ?? branchOf(state.batchId, cases);
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

/**
 * A batch while it runs under Actions: its log lines, checkpoints pushed from its events (see
 * Checkpoints), and the push a cancel asks for at once. The one publisher it makes is the one the
 * end of the run pushes with, so pushes never overlap.
 */
class LiveBatch {
  readonly generated: Array<{ caseId: string; imageId: string }> = [];
  readonly failures: GalleryFailure[] = [];
  readonly events: BatchEvents;
  private checkpoints: Checkpoints | undefined;
  private publisher: Promise<BranchPublisher> | undefined;
  private cancelPushReported = false;

  constructor(
    private readonly i: Inputs,
    private readonly shutdown: Shutdown,
    private readonly makePublisher: (batchId: string) => Promise<BranchPublisher>,
  ) {
    this.events = {
      ...logEvents(),
      imageDone: (item) => {
        this.generated.push({ caseId: item.caseId, imageId: item.imageId });
        this.checkpoints?.saved(true);
      },
      imageFailed: (item, failure) => {
        this.failures.push({
          caseId: item.caseId,
          imageId: item.imageId,
          error: failure.message,
          errorType: failure.errorType,
        });
        this.checkpoints?.saved(false);
      },
    };
  }

  /** The batch id is claimed: checkpoints can start (only when the run commits). */
  begin(batchId: string): void {
    if (!this.i.commit) return;
    this.publisher = this.makePublisher(batchId);
    // Never an unhandled rejection: the final push awaits the same promise and reports the error.
    this.publisher.catch(() => undefined);
    this.checkpoints = new Checkpoints({
      everyImages: this.i.checkpointImages,
      everyMs: this.i.checkpointMinutes * 60_000,
      push: () => this.checkpoint(),
    });
    this.shutdown.onStop((cause) => {
      if (cause.kind === 'signal') this.checkpoints?.request(`${cause.signal}`);
    });
    // A cancel that came before the batch id was claimed still gets its push.
    if (this.shutdown.cancelled && this.shutdown.cause?.kind === 'signal')
      this.checkpoints.request(this.shutdown.cause.signal);
  }

  async close(): Promise<void> {
    await this.checkpoints?.close();
  }

  /** The publisher, when the run commits and a batch was claimed. */
  get branchPublisher(): Promise<BranchPublisher> | undefined {
    return this.publisher;
  }

  private async checkpoint(): Promise<string> {
    if (!this.publisher) return 'nothing to push yet';
    const startedAt = Date.now();
    const publisher = await this.publisher;
    const commit = await publisher.push();
    this.reportCancelPush(startedAt, publisher.branch, commit.sha);
    if (!commit.changed) return `nothing new for ${publisher.branch}`;
    let line = `pushed ${commit.sha.slice(0, 12)} to ${publisher.branch}`;
    if (this.i.openPr) {
      const pr = await publisher.updatePullRequest(this.generated, this.failures);
      if (pr) line += `; ${pr.created ? 'opened' : 'updated'} pull request #${pr.number}`;
    }
    return line;
  }

  /** The figure the cancel is judged by: from the signal to what had answered being on the remote. */
  reportCancelPush(startedAt: number, branch: string, sha: string): void {
    const cause = this.shutdown.cause;
    if (this.cancelPushReported || cause?.kind !== 'signal' || startedAt < cause.at) return;
    this.cancelPushReported = true;
    core.info(
      `Cancel: what had answered before ${cause.signal} is on ${branch} at ${sha.slice(0, 12)}, ${Date.now() - cause.at} ms after the signal.`,
    );
  }
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
  state: { cases: string[]; branch: string | undefined; branches: Branches; live?: LiveBatch },
): Promise<FinishedBatch> {
  const reportPath = relative(root, result.errorReportFile);
  setOutputs({
    'batch-id': result.batchId,
    total: result.total,
    successful: result.successful,
    failed: result.failed,
    cost: result.costUsd,
    'report-path': reportPath,
    'exit-code': result.exitCode,
  });
  core.info(
    `${result.batchId}: ${result.successful}/${result.total} done, ${result.failed} failed, ${result.pending} pending, ${formatUsd(result.costUsd)}` +
      (result.stopReason ? ` (stopped: ${result.stopReason})` : ''),
  );
  annotateFailures(result.failures);

  const { owner, repo } = repository();
  const publisher = await (state.live?.branchPublisher ??
    publisherFor(root, i, { batchId: result.batchId, ...state }));
  const { branch } = publisher;
  const cases = publisher.cases;
  let sha: string | undefined;
  let pullRequestUrl = '';
  if (i.commit) {
    const startedAt = Date.now();
    const commit = await publisher.push();
    state.live?.reportCancelPush(startedAt, branch, commit.sha);
    sha = publisher.sha;
    core.setOutput('branch', branch);
    core.info(
      commit.changed
        ? `Pushed ${commit.sha.slice(0, 12)} to ${branch}`
        : `Nothing new to commit on ${branch}`,
    );
  }

  const images = await galleryForCases(root, cases, { generated: result.generated });
  annotateVerdicts(images, result.generated);
  const failures = galleryFailures(result);
  if (i.openPr && sha && i.githubToken && images.length > 0) {
    const pr = await publisher.updatePullRequest(result.generated, failures);
    if (pr) {
      pullRequestUrl = pr.url;
      core.setOutput('pull-request-url', pr.url);
      core.info(`${pr.created ? 'Opened' : 'Updated'} pull request #${pr.number}: ${pr.url}`);
    }
  }

  const summary = buildSummaryMarkdown({
    owner,
    repo,
    // No commit, no picture: never a link to HEAD of the default branch, where the images are not.
    sha: sha ?? '',
    images,
    batchId: result.batchId,
    failures,
    title: `lineup ${result.batchId}: ${result.successful}/${result.total} images, ${formatUsd(result.costUsd)}${result.stopReason ? ` (${result.stopReason})` : ''}`,
  });
  await writeJobSummary(
    summary +
      (pullRequestUrl ? `\nPull request: ${pullRequestUrl}\n` : '') +
      (i.commit ? `\nBranch: \`${branch}\`\n` : '') +
      (result.exitCode === 3 ? `\n${howToGoOn(i, result, branch)}\n` : ''),
  );

  await uploadRunReports(root, i.artifactName ?? `lineup-report-${result.batchId}`, result);

  if (result.status === 'submitted') {
    core.info(`Submitted to the Gemini Batch API; collect the images later with resume: ${result.batchId}`);
  } else if (result.exitCode === 3) {
    core.warning(
      `Stopped early on purpose (${result.stopReason ?? 'stopped'}); ${result.pending} image(s) left pending. ${howToGoOn(i, result, branch)}`,
      { title: 'lineup batch stopped early' },
    );
  } else if (result.exitCode !== 0) {
    core.setFailed(
      `${result.failed} of ${result.total} image(s) failed in ${result.batchId}; see the annotations and ${reportPath}`,
    );
  }
  return {
    result,
    ...(i.commit ? { branch } : {}),
    ...(pullRequestUrl ? { pullRequestUrl } : {}),
  };
}

/** What a person does after a stopped batch: run the same thing again, or resume it by id. */
function howToGoOn(i: Inputs, result: BatchSummary, branch: string): string {
  const resume = `Run again with resume: ${result.batchId}`;
  if (!i.commit) return `${resume}.`;
  return `${resume}, or run the same workflow again: it continues from \`${branch}\` and never asks again for an image the branch holds.`;
}

/** Error report, log and the stats table as one artifact; a missing artifact service is a warning, not a failed run. */
async function uploadRunReports(root: string, name: string, result: BatchSummary): Promise<void> {
  const files = [result.errorReportFile, result.logFile];
  try {
    const stats = await writeBatchStats(root);
    files.push(stats.csvFile, stats.svgFile);
  } catch (error) {
    core.warning(`Could not write the stats table: ${errorMessage(error)}`);
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
    core.warning(`Could not upload the reports: ${errorMessage(error)}`);
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
  let shutdown: Shutdown | undefined;
  try {
    const apiKeyInput = core.getInput('gemini-api-key').trim() || process.env.GEMINI_API_KEY?.trim();
    const tokenInput = core.getInput('github-token').trim();
    secrets = [apiKeyInput, tokenInput];
    maskSecrets(apiKeyInput, tokenInput);
    const inputs = readInputs();
    // Installed before anything is planned: from here on a cancel never kills the process outright.
    shutdown = new Shutdown({
      deadlineMs: inputs.deadlineMinutes === undefined ? undefined : inputs.deadlineMinutes * 60_000,
    }).install();
    checkInputs(inputs);
    if (inputs.caseIds.length) {
      await generateGroup(inputs, shutdown, {
        generate,
        submitGroup: (i, planned, stop, shared) =>
          submitGroupBatch(i, planned, stop, shared, {
            prepare,
            upload: (name, result) => uploadRunReports(workspace(), name, result),
          }),
        makeBranches: () => new Branches(workspace(), inputs.githubToken),
        secrets,
      });
    } else {
      await generate(inputs, shutdown);
    }
  } catch (error) {
    core.setFailed(failureMessage(error, secrets));
  } finally {
    shutdown?.dispose();
  }
  // A cancelled run ends now: a request given up may still hold a socket, and the kill is near.
  if (shutdown?.cancelled) process.exit();
}
