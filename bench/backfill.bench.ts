import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { planBranch } from '../src/actions/branches.ts';
import { overlayFromCommit } from '../src/github/branch-read.ts';
import { makeOctokit } from '../src/github/pull-request.ts';
import {
  addCaseCopies,
  checkout,
  makeLineupRemote,
  OWNER,
  REPO_NAME,
  runAction,
  runnerEnv,
  secretKey,
} from '../test/support/action-env.ts';
import { type FakeGemini, startFakeGemini } from '../test/support/fake-gemini.ts';
import { startFakeGeminiWithBatch } from '../test/support/fake-gemini-batch.ts';
import { startFakeGitHub } from '../test/support/fake-github.ts';
import { median } from './median.ts';

/**
 * The backfill arithmetic of the README ("A backfill in a handful of jobs"): what a nightly of
 * 100 cases costs in jobs, Batch API jobs and runner-minutes with one case to a job (before) and
 * ten (after). The parts that can be measured here are measured in this run with the committed
 * bundle (`npm run build` first) against the fakes at zero latency:
 * - action start: the bundle loaded, inputs read, ended (a run refused at its first check);
 * - a one-case job and a ten-case job, whole, in batch mode (the nightly's default: each case's
 *   branch continued, collected and planned, one Batch API job submitted, each case's share
 *   pushed) and in sync mode (the images made and pushed, a pull request per case); the
 *   difference is the cost of a case, the rest of the one-case job the action's part paid once
 *   per job.
 * The runner's own start and the checkout cannot be measured here: RUNNER_START_S is the stated
 * assumption. GitHub bills each job rounded up to the whole minute
 * (https://docs.github.com/en/billing/reference/actions-runner-pricing), which is what makes
 * many short jobs dear.
 */

/** Assumed: a hosted runner picking the job up, setting up, and actions/checkout of the repository. */
export const RUNNER_START_S = 20;
/** Assumed for the sync rows: one Gemini image request, answer included, plus the 2 s start gap. */
export const SYNC_IMAGE_S = 12;
const CASES = 100;
const IMAGES_PER_CASE = 4;
const CASES_PER_JOB = 10;
const MAX_PARALLEL = 2;

type Mode = 'sync' | 'batch';

interface JobTimes {
  oneCaseJobS: number;
  tenCaseJobS: number;
}

interface Measured {
  startS: number;
  settleS: number;
  sync: JobTimes;
  batch: JobTimes;
}

async function fakeGemini(mode: Mode): Promise<FakeGemini> {
  return mode === 'batch' ? (await startFakeGeminiWithBatch()).fake : startFakeGemini();
}

/** One group job of `caseIds`, whole, against fresh fakes and a fresh remote (with `extra` cases added). */
async function timeGroupJob(mode: Mode, caseIds: string[], extra: string[]): Promise<number> {
  const token = 'ghs_benchtoken0123456789abcdef';
  const [gemini, github, remote] = await Promise.all([
    fakeGemini(mode),
    startFakeGitHub({ token }),
    makeLineupRemote(),
  ]);
  try {
    if (extra.length) await addCaseCopies(remote, extra);
    const cwd = await checkout(remote);
    const started = performance.now();
    const run = await runAction('batch-generate', {
      cwd,
      inputs: {
        'case-ids': caseIds.join(' '),
        mode,
        fix: 'true',
        commit: 'true',
        'open-pr': 'true',
        'github-token': token,
        'gemini-api-key': secretKey(),
      },
      env: runnerEnv({ github, gemini }, { event: 'schedule', runId: 9001 }),
    });
    const seconds = (performance.now() - started) / 1000;
    if (run.code !== 0 || run.outputs['exit-code'] !== '0') {
      throw new Error(`the ${mode} group job failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
    // Sync: a pull request per case; batch: none until the images are collected.
    const prs = mode === 'sync' ? caseIds.length : 0;
    if (github.pulls.length !== prs) throw new Error(`expected ${prs} pull request(s) in ${mode} mode`);
    return seconds;
  } finally {
    await Promise.all([gemini.close(), github.close()]);
    await remote.cleanup();
  }
}

async function timeActionStart(): Promise<number> {
  const remote = await makeLineupRemote();
  try {
    const cwd = await checkout(remote);
    const started = performance.now();
    const run = await runAction('batch-generate', { cwd, inputs: { 'case-ids': 'not-a-case' }, env: {} });
    if (run.code !== 1) throw new Error(`expected the bad input to be refused:\n${run.stdout}`);
    return (performance.now() - started) / 1000;
  } finally {
    await remote.cleanup();
  }
}

const TEN = Array.from({ length: CASES_PER_JOB }, (_, n) => `case-2025-03-${String(n + 1).padStart(2, '0')}`);

async function measureMode(mode: Mode, runs: number): Promise<JobTimes> {
  const ones: number[] = [];
  const tens: number[] = [];
  for (let n = 0; n < runs; n++) {
    ones.push(await timeGroupJob(mode, ['case-2025-01-19'], []));
    tens.push(await timeGroupJob(mode, TEN, TEN));
  }
  return { oneCaseJobS: median(ones), tenCaseJobS: median(tens) };
}

/**
 * A branch settle as a run does it for a case whose branch holds work: fetch the branch, ask
 * GitHub for its pull requests, bring its images and progress files into a fresh checkout.
 */
async function timeSettle(runs: number): Promise<number> {
  const token = 'ghs_benchtoken0123456789abcdef';
  const [gemini, github, remote] = await Promise.all([
    startFakeGemini(),
    startFakeGitHub({ token }),
    makeLineupRemote(),
  ]);
  const caseId = 'case-2025-01-19';
  try {
    const env = runnerEnv({ github, gemini }, { event: 'workflow_dispatch' });
    const inputs = { 'case-id': caseId, commit: 'true', 'open-pr': 'true', 'github-token': token };
    const made = await runAction('batch-generate', {
      cwd: await checkout(remote),
      inputs: { ...inputs, 'gemini-api-key': secretKey() },
      env,
    });
    if (made.code !== 0) throw new Error(`the set-up run failed:\n${made.stdout}`);
    const octokit = makeOctokit(token, github.url);
    const times: number[] = [];
    for (let n = 0; n < runs; n++) {
      const cwd = await checkout(remote);
      const started = performance.now();
      const plan = await planBranch({
        cwd,
        branch: `images/${caseId}`,
        token,
        octokit,
        owner: OWNER,
        repo: REPO_NAME,
      });
      if (plan.kind !== 'continue') throw new Error(`expected to continue the branch, got ${plan.kind}`);
      await overlayFromCommit(cwd, plan.tip, [join('cases', caseId, 'images'), join('reports', 'progress')]);
      times.push((performance.now() - started) / 1000);
    }
    return median(times);
  } finally {
    await Promise.all([gemini.close(), github.close()]);
    await remote.cleanup();
  }
}

/** Measures (medians of `runs`) the action start, a settle, and the one- and ten-case jobs in both modes. */
export async function measureBackfill(runs = 3): Promise<Measured> {
  const starts: number[] = [];
  for (let n = 0; n < runs; n++) starts.push(await timeActionStart());
  return {
    startS: median(starts),
    settleS: await timeSettle(runs),
    batch: await measureMode('batch', runs),
    sync: await measureMode('sync', runs),
  };
}

/** A case's part and the job's fixed part, from a one-case and a ten-case job. */
function split(t: JobTimes): { perCaseS: number; jobFixedS: number } {
  const perCaseS = Math.max(0, (t.tenCaseJobS - t.oneCaseJobS) / (CASES_PER_JOB - 1));
  return { perCaseS, jobFixedS: Math.max(0, t.oneCaseJobS - perCaseS) };
}

export interface Plan {
  jobs: number;
  batchApiJobs: number;
  /** Seconds one job runs (runner start and checkout included). */
  jobS: number;
  /** Billed minutes: every job rounded up to the whole minute. */
  billedMinutes: number;
  /** Wall clock of the backfill with max-parallel jobs at a time. */
  wallMinutes: number;
}

/**
 * A 100-case backfill in jobs of `perJob` cases, from the measured per-job and per-case parts.
 * `caseWorkS` is what a case adds besides the measured part (the real image requests in sync mode).
 */
export function backfillPlan(
  perJob: number,
  parts: { jobFixedS: number; perCaseS: number; caseWorkS: number; batchApiJobsPerJob: number },
): Plan {
  const jobs = Math.ceil(CASES / perJob);
  const jobS = RUNNER_START_S + parts.jobFixedS + perJob * (parts.perCaseS + parts.caseWorkS);
  return {
    jobs,
    batchApiJobs: jobs * parts.batchApiJobsPerJob,
    jobS,
    billedMinutes: jobs * Math.ceil(jobS / 60),
    wallMinutes: (Math.ceil(jobs / MAX_PARALLEL) * jobS) / 60,
  };
}

export async function benchBackfill(): Promise<string[]> {
  const m = await measureBackfill();
  const b = split(m.batch);
  const y = split(m.sync);
  const row = (label: string, p: Plan) =>
    `  ${label.padEnd(32)} ${String(p.jobs).padStart(4)} jobs ${String(p.batchApiJobs).padStart(4)} Batch API jobs ` +
    `${p.jobS.toFixed(1).padStart(6)} s/job ${String(p.billedMinutes).padStart(4)} billed runner-min ` +
    `${p.wallMinutes.toFixed(1).padStart(5)} min wall`;
  // Batch mode (the nightly's default): the measured part is all a case costs tonight.
  const batch = { ...b, caseWorkS: 0 };
  // Sync mode: the measured part (zero-latency fake) plus the assumed time of the real requests.
  const sync = { ...y, caseWorkS: IMAGES_PER_CASE * SYNC_IMAGE_S };
  const before = backfillPlan(1, { ...batch, batchApiJobsPerJob: 1 });
  const after = backfillPlan(CASES_PER_JOB, { ...batch, batchApiJobsPerJob: 1 });
  const beforeSync = backfillPlan(1, { ...sync, batchApiJobsPerJob: 0 });
  const afterSync = backfillPlan(CASES_PER_JOB, { ...sync, batchApiJobsPerJob: 0 });
  const times = (t: JobTimes, p: { perCaseS: number; jobFixedS: number }) =>
    `one-case job ${t.oneCaseJobS.toFixed(2)} s, ten-case job ${t.tenCaseJobS.toFixed(2)} s: per case ${p.perCaseS.toFixed(2)} s, per job ${p.jobFixedS.toFixed(2)} s`;
  return [
    'measured (median of 3; committed bundle; fakes at zero latency; local bare remote):',
    `  action start (node + bundle, refused at its first check): ${m.startS.toFixed(2)} s`,
    `  branch settle of a case with work on its branch (fetch, pull requests, overlay): ${m.settleS.toFixed(2)} s (part of a case's time)`,
    `  batch mode: ${times(m.batch, b)}`,
    `  sync mode:  ${times(m.sync, y)}`,
    `assumed: runner start + checkout ${RUNNER_START_S} s per job; a sync image ${SYNC_IMAGE_S} s; each job billed rounded up to a whole minute; max-parallel ${MAX_PARALLEL}`,
    `backfill of ${CASES} cases x ${IMAGES_PER_CASE} images:`,
    row('batch mode, 1 case/job (before)', before),
    row(`batch mode, ${CASES_PER_JOB} cases/job (after)`, after),
    row('sync mode, 1 case/job (before)', beforeSync),
    row(`sync mode, ${CASES_PER_JOB} cases/job (after)`, afterSync),
    `after/before: jobs ${(after.jobs / before.jobs).toFixed(2)}, Batch API jobs ${(after.batchApiJobs / before.batchApiJobs).toFixed(2)}, ` +
      `billed runner-minutes ${(after.billedMinutes / before.billedMinutes).toFixed(2)} (batch) and ${(afterSync.billedMinutes / beforeSync.billedMinutes).toFixed(2)} (sync)`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchBackfill()) console.log(line);
}
