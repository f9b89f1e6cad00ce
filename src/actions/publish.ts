import { join, relative } from 'node:path';
import * as core from '@actions/core';
import type { BatchSummary } from '../batch/types.ts';
import { ExitCode } from '../errors.ts';
import { uploadReports } from '../github/artifact.ts';
import {
  buildPullRequestBody,
  buildSummaryMarkdown,
  formatUsd,
  type GalleryFailure,
  type GalleryImage,
  type GalleryOptions,
} from '../github/gallery.ts';
import { type CommitResult, commitAndPush } from '../github/git.ts';
import { clampBody, makeOctokit, type Octokit, upsertPullRequest } from '../github/pull-request.ts';
import { annotateFailures, annotateVerdicts, writeJobSummary } from '../github/summary.ts';
import { writeBatchStats } from '../stats/index.ts';
import { errorMessage } from '../util/error-message.ts';
import type { BranchPlan } from './branches.ts';
import { galleryFailures, galleryForCases, progressPath } from './gallery-images.ts';
import { repository } from './inputs.ts';

/**
 * What the actions publish, in one place for batch-generate and review-images: step outputs,
 * commits pushed to the `images/…` branch, the pull request's gallery, the job summary, the
 * report artifact and the step's exit status.
 */

/** Files the pull request carries for these cases: their images directory (manifest included) and case.json. */
function casePaths(caseIds: readonly string[]): string[] {
  return caseIds.flatMap((id) => [join('cases', id, 'images'), join('cases', id, 'case.json')]);
}

export function setOutputs(values: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(values)) core.setOutput(name, String(value));
}

/** A batch the action finished (generated, collected or submitted), with where it was published. */
export interface FinishedBatch {
  result: BatchSummary;
  /** The branch pushed to (with commit). */
  branch?: string;
  pullRequestUrl?: string;
}

export interface PublisherOptions {
  root: string;
  token: string | undefined;
  owner: string;
  repo: string;
  branch: string;
  cases: readonly string[];
  batchId: string;
  /** The pull request's base; undefined: no pull request. */
  base: string | undefined;
  /** What the run does with the branch (looked at once, see BranchPlan). */
  plan(): Promise<BranchPlan>;
}

/**
 * Everything a batch publishes to its `images/…` branch, from the checkpoints during the run and
 * from its end: one push at a time, the first one starting a stale branch over (under a lease),
 * later ones adding to what the first pushed.
 */
export class BranchPublisher {
  private chain: Promise<unknown> = Promise.resolve();
  private pushedOnce = false;
  /** The branch tip holding this run's work, once there is one. */
  sha: string | undefined;
  pullRequestUrl = '';
  pullRequestNumber: number | undefined;

  constructor(private readonly o: PublisherOptions) {}

  get branch(): string {
    return this.o.branch;
  }

  get cases(): string[] {
    return [...this.o.cases];
  }

  /** Commits the saved images, manifests, case files and progress file, and pushes them. */
  push(): Promise<CommitResult> {
    return this.queue(() => this.pushNow());
  }

  /**
   * Opens the pull request, or brings its gallery up to date, at the last pushed commit. `images`
   * is the gallery when the caller has just built it (the batch's end); a checkpoint builds it here.
   */
  updatePullRequest(
    generated: ReadonlyArray<{ caseId: string; imageId: string }>,
    failures: GalleryFailure[],
    images?: GalleryImage[],
  ): Promise<{ url: string; number: number; created: boolean } | undefined> {
    return this.queue(() => this.pullRequestNow(generated, failures, images));
  }

  /** Waits for every push and update asked for so far. */
  async idle(): Promise<void> {
    await this.chain;
  }

  private queue<T>(step: () => Promise<T>): Promise<T> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async pushNow(): Promise<CommitResult> {
    const { cases } = this.o;
    const plan = await this.o.plan();
    const fresh = plan.kind === 'fresh' && !this.pushedOnce;
    const commit = await commitAndPush({
      cwd: this.o.root,
      branch: this.o.branch,
      paths: [...casePaths(cases), progressPath(this.o.batchId)],
      message: `lineup: images for ${cases.length === 1 ? cases[0] : `${cases.length} cases`} (${this.o.batchId})`,
      ...(this.o.token ? { token: this.o.token } : {}),
      // A branch whose pull request was merged or closed starts over from the checkout, once.
      ...(fresh && plan.kind === 'fresh' ? { fresh: true, expectedTip: plan.tip } : {}),
    });
    if (commit.changed) {
      this.pushedOnce = true;
      this.sha = commit.sha;
    } else if (this.pushedOnce || plan.kind === 'continue') {
      // The branch's tip is work in progress (ours or an earlier run's): the gallery can show it.
      this.sha = commit.sha;
    }
    return commit;
  }

  private async pullRequestNow(
    generated: ReadonlyArray<{ caseId: string; imageId: string }>,
    failures: GalleryFailure[],
    built: GalleryImage[] | undefined,
  ) {
    const { base, token, owner, repo, cases, batchId } = this.o;
    if (!base || !token || !this.sha) return undefined;
    const images = built ?? (await galleryForCases(this.o.root, cases, { generated }));
    if (images.length === 0) return undefined;
    const pr = await upsertPullRequest({
      octokit: makeOctokit(token),
      owner,
      repo,
      head: this.o.branch,
      base,
      title: cases.length === 1 ? `Images for ${cases[0]}` : `Images for ${cases.length} cases (${batchId})`,
      body: buildPullRequestBody({ owner, repo, sha: this.sha, images, batchId, failures }),
      labels: ['lineup', 'images'],
    });
    this.pullRequestUrl = pr.url;
    this.pullRequestNumber = pr.number;
    return pr;
  }
}

/** How the end of a batch-generate batch is published. */
export interface PublishOptions {
  root: string;
  commit: boolean;
  openPr: boolean;
  token: string | undefined;
  artifactName: string | undefined;
  /** Called with the time a push started and its commit (the cancel's figure, see LiveBatch). */
  onPushed?: (startedAt: number, branch: string, sha: string) => void;
}

/**
 * The end of a batch: outputs, the push, the pull request, the job summary, the report artifact
 * and the step's exit status.
 */
export async function publishBatch(
  o: PublishOptions,
  result: BatchSummary,
  publisherOf: () => Promise<BranchPublisher>,
): Promise<FinishedBatch> {
  const reportPath = reportBatch(o.root, result);
  const { owner, repo } = repository();
  const publisher = await publisherOf();
  const { branch } = publisher;
  const sha = o.commit ? await pushEnd(o, publisher) : undefined;
  const images = await galleryForCases(o.root, publisher.cases, { generated: result.generated });
  annotateVerdicts(images, result.generated);
  const failures = galleryFailures(result);
  let pullRequestUrl = '';
  if (o.openPr && sha && o.token && images.length > 0) {
    const pr = await publisher.updatePullRequest(result.generated, failures, images);
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
      (o.commit ? `\nBranch: \`${branch}\`\n` : '') +
      (result.exitCode === ExitCode.stoppedEarly ? `\n${howToGoOn(o.commit, result, branch)}\n` : ''),
  );
  await uploadRunReports(o.root, o.artifactName ?? `lineup-report-${result.batchId}`, result);
  batchExitStatus(o.commit, result, branch, reportPath);
  return { result, ...(o.commit ? { branch } : {}), ...(pullRequestUrl ? { pullRequestUrl } : {}) };
}

/** The batch's outputs, its one log line and its failures' annotations; returns the report's path. */
function reportBatch(root: string, result: BatchSummary): string {
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
  return reportPath;
}

/** The final push of a batch; returns the branch tip holding its work, if any. */
async function pushEnd(o: PublishOptions, publisher: BranchPublisher): Promise<string | undefined> {
  const { branch } = publisher;
  const startedAt = Date.now();
  const commit = await publisher.push();
  o.onPushed?.(startedAt, branch, commit.sha);
  core.setOutput('branch', branch);
  core.info(
    commit.changed ? `Pushed ${commit.sha.slice(0, 12)} to ${branch}` : `Nothing new to commit on ${branch}`,
  );
  return publisher.sha;
}

/** The step's status after a batch: submitted and stopped are not failures; failed images are. */
function batchExitStatus(commit: boolean, result: BatchSummary, branch: string, reportPath: string): void {
  if (result.status === 'submitted') {
    core.info(`Submitted to the Gemini Batch API; collect the images later with resume: ${result.batchId}`);
    return;
  }
  exitStatus(result, {
    stopped: `Stopped early on purpose (${result.stopReason ?? 'stopped'}); ${result.pending} image(s) left pending. ${howToGoOn(commit, result, branch)}`,
    stoppedTitle: 'lineup batch stopped early',
    failed: `${result.failed} of ${result.total} image(s) failed in ${result.batchId}; see the annotations and ${reportPath}`,
  });
}

/**
 * The step's status from a batch's exit code (see README, exit codes): stopped early on purpose
 * is a warning, what was made still published; failed images fail the step.
 */
export function exitStatus(
  result: Pick<BatchSummary, 'exitCode'>,
  say: { stopped: string; stoppedTitle?: string; failed: string },
): void {
  if (result.exitCode === ExitCode.stoppedEarly) {
    if (say.stoppedTitle) core.warning(say.stopped, { title: say.stoppedTitle });
    else core.warning(say.stopped);
  } else if (result.exitCode !== ExitCode.ok) {
    core.setFailed(say.failed);
  }
}

/** A review's commit of `paths` (approved manifests, regenerated images) pushed to the pull request's branch. */
export function pushToPullRequest(
  target: { root: string; branch: string; token: string },
  paths: string[],
  message: string,
): Promise<CommitResult> {
  return commitAndPush({ cwd: target.root, branch: target.branch, paths, message, token: target.token });
}

/** What a person does after a stopped batch: run the same thing again, or resume it by id. */
function howToGoOn(commit: boolean, result: BatchSummary, branch: string): string {
  const resume = `Run again with resume: ${result.batchId}`;
  if (!commit) return `${resume}.`;
  return `${resume}, or run the same workflow again: it continues from \`${branch}\` and never asks again for an image the branch holds.`;
}

/** Error report, log and the stats table as one artifact; a missing artifact service is a warning, not a failed run. */
export async function uploadRunReports(root: string, name: string, result: BatchSummary): Promise<void> {
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

/** A pull request the review works on: where it is and which of its cases the gallery shows. */
export interface ReviewedPullRequest {
  root: string;
  owner: string;
  repo: string;
  octokit: Octokit;
  pr: number;
  cases: string[];
}

/**
 * Brings an open pull request's gallery (its body only: a person may have edited the title) and
 * the job summary up to `sha`, after a review pushed there; with the batch a regeneration made.
 */
export async function refreshPullRequest(
  target: ReviewedPullRequest,
  sha: string,
  extra: { batchId?: string; summary?: BatchSummary } = {},
): Promise<void> {
  const images = await galleryForCases(target.root, target.cases, {
    pullRequest: target.pr,
    ...(extra.summary ? { generated: extra.summary.generated } : {}),
  });
  if (images.length === 0) return;
  if (extra.summary) annotateVerdicts(images, extra.summary.generated);
  const options: GalleryOptions = {
    owner: target.owner,
    repo: target.repo,
    sha,
    images,
    ...(extra.batchId ? { batchId: extra.batchId } : {}),
    ...(extra.summary ? { failures: galleryFailures(extra.summary) } : {}),
  };
  await target.octokit.rest.pulls.update({
    owner: target.owner,
    repo: target.repo,
    pull_number: target.pr,
    body: clampBody(buildPullRequestBody(options)),
  });
  await writeJobSummary(buildSummaryMarkdown({ ...options, title: `lineup review of #${target.pr}` }));
}
