import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as core from '@actions/core';
import { readBatchFile } from '../../batch/batch-file.ts';
import { collectSubmitted } from '../../batch/batch-mode/index.ts';
import type { ImageType, PlanSource } from '../../batch/plan.ts';
import { prepareRun } from '../../batch/prepare-run.ts';
import type { BatchSummary } from '../../batch/types.ts';
import { assertCaseId } from '../../cases/ids.ts';
import { InputError } from '../../errors.ts';
import { uploadReports } from '../../github/artifact.ts';
import { buildPullRequestBody, buildSummaryMarkdown, formatUsd } from '../../github/gallery.ts';
import { commitAndPush } from '../../github/git.ts';
import { makeOctokit, upsertPullRequest } from '../../github/pull-request.ts';
import { annotateFailures, writeJobSummary } from '../../github/summary.ts';
import { createQualityCheck } from '../../quality/index.ts';
import { writeBatchStats } from '../../stats/index.ts';
import { baseBranch, fetchBranch, overlayFromCommit } from '../branch-state.ts';
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
  let branchExisted = false;
  let overlaid = false;
  const continueFromBranch = async (branch: string, cases: string[]) => {
    overlaid = true;
    const tip = await fetchBranch(root, branch, i.githubToken);
    if (!tip) return;
    branchExisted = true;
    // reports/progress too: batch ids are numbered from the files present, and a rerun must not
    // claim (and overwrite on the branch) an id the branch already used.
    const brought = await overlayFromCommit(root, tip, [...casePaths(cases), join('reports', 'progress')]);
    if (brought.length) core.info(`Continuing from ${branch} (${tip.slice(0, 12)}): ${brought.join(', ')}`);
  };
  // Before the scan looks at the case (case-id with fix): what the branch already holds counts.
  if (i.commit && i.caseId) await continueFromBranch(`images/${assertCaseId(i.caseId)}`, [i.caseId]);
  // Batch mode (nightly): first collect what earlier runs submitted, so the plan below sees those images.
  let collectedCount = 0;
  const waiting: string[] = [];
  if (i.mode === 'batch' && batchClient && !i.resume && !i.estimateOnly) {
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
        branchExisted,
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
  // One case: its branch is known now, and a rerun continues from what that branch already holds.
  const branch = cases.length === 1 ? `images/${cases[0]}` : undefined;
  if (i.commit && branch && !overlaid) await continueFromBranch(branch, cases);

  let grouped = false;
  const result = await run
    .run({
      events: logEvents(),
      ...(process.env.GITHUB_RUN_ID
        ? {
            batchIdScope: `${process.env.GITHUB_RUN_ID}-${process.env.GITHUB_RUN_ATTEMPT ?? 1}-${i.caseId ?? i.batchFile ?? 'scan'}`,
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
  await finish(root, i, result, { cases, branch, branchExisted });
}

async function finish(
  root: string,
  i: Inputs,
  result: BatchSummary,
  state: { cases: string[]; branch: string | undefined; branchExisted: boolean },
): Promise<void> {
  const cases = state.cases.length ? state.cases : await casesOfBatch(root, result.batchId);
  const branch = state.branch ?? (cases.length === 1 ? `images/${cases[0]}` : `images/${result.batchId}`);
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
  if (i.commit) {
    const commit = await commitAndPush({
      cwd: root,
      branch,
      paths: [...casePaths(cases), progressPath(result.batchId)],
      message: `lineup: images for ${cases.length === 1 ? cases[0] : `${cases.length} cases`} (${result.batchId})`,
      ...(i.githubToken ? { token: i.githubToken } : {}),
    });
    sha = commit.sha;
    core.setOutput('branch', branch);
    core.info(
      commit.changed ? `Pushed ${sha.slice(0, 12)} to ${branch}` : `Nothing new to commit on ${branch}`,
    );
    if (!commit.changed && !state.branchExisted) sha = undefined;
  }

  const images = await galleryForCases(root, cases, { generated: result.generated });
  const failures = galleryFailures(result);
  if (i.openPr && sha && i.githubToken && images.length > 0) {
    const pr = await upsertPullRequest({
      octokit: makeOctokit(i.githubToken),
      owner,
      repo,
      head: branch,
      base: await baseBranch(root, await eventPayload()),
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
