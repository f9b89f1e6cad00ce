import { pathToFileURL } from 'node:url';
import {
  addCaseCopies,
  checkout,
  makeLineupRemote,
  OWNER,
  REPO_NAME,
  runAction,
  secretKey,
} from '../test/support/action-env.ts';
import { startFakeGemini } from '../test/support/fake-gemini.ts';
import { startFakeGitHub } from '../test/support/fake-github.ts';

/**
 * The backfill arithmetic of the README ("A backfill in a handful of jobs"): what a nightly of
 * 100 cases costs in jobs, Batch API jobs and runner-minutes with one case to a job (before) and
 * ten (after). The parts that can be measured here are measured in this run with the committed
 * bundle (`npm run build` first) against the fakes at zero latency:
 * - action start: the bundle loaded, inputs read, ended (a run refused at its first check);
 * - a one-case job and a ten-case job, whole; their difference is the cost of a case (branch
 *   settle, plan, save, push, pull request), the rest of the one-case job is the action's fixed
 *   part, paid once per job.
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Measured {
  startS: number;
  oneCaseJobS: number;
  tenCaseJobS: number;
}

async function timeGroupJob(caseIds: string[], extra: string[]): Promise<number> {
  const token = 'ghs_benchtoken0123456789abcdef';
  const [gemini, github, remote] = await Promise.all([
    startFakeGemini(),
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
        commit: 'true',
        'open-pr': 'true',
        'github-token': token,
        'gemini-api-key': secretKey(),
      },
      env: {
        GITHUB_API_URL: github.url,
        GITHUB_REPOSITORY: `${OWNER}/${REPO_NAME}`,
        GITHUB_REF: 'refs/heads/main',
        GITHUB_RUN_ID: '9001',
        GOOGLE_GEMINI_BASE_URL: gemini.url,
      },
    });
    const seconds = (performance.now() - started) / 1000;
    if (run.code !== 0 || run.outputs['exit-code'] !== '0') {
      throw new Error(`the group job failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
    if (github.pulls.length !== caseIds.length) throw new Error(`expected ${caseIds.length} pull requests`);
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

/** Measures (medians of `runs`) the action start and the one- and ten-case jobs. */
export async function measureBackfill(runs = 3): Promise<Measured> {
  const ten = Array.from(
    { length: CASES_PER_JOB },
    (_, n) => `case-2025-03-${String(n + 1).padStart(2, '0')}`,
  );
  const starts: number[] = [];
  const ones: number[] = [];
  const tens: number[] = [];
  for (let n = 0; n < runs; n++) {
    starts.push(await timeActionStart());
    ones.push(await timeGroupJob(['case-2025-01-19'], []));
    tens.push(await timeGroupJob(ten, ten));
  }
  return { startS: median(starts), oneCaseJobS: median(ones), tenCaseJobS: median(tens) };
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
 * `caseWorkS` is what a case adds besides the measured action part (image requests in sync mode).
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
  const perCaseS = Math.max(0, (m.tenCaseJobS - m.oneCaseJobS) / (CASES_PER_JOB - 1));
  const jobFixedS = Math.max(0, m.oneCaseJobS - perCaseS);
  const row = (label: string, p: Plan) =>
    `  ${label.padEnd(34)} ${String(p.jobs).padStart(4)} jobs  ${String(p.batchApiJobs).padStart(4)} Batch API jobs  ` +
    `${p.jobS.toFixed(1).padStart(6)} s/job  ${String(p.billedMinutes).padStart(4)} billed runner-min  ` +
    `${p.wallMinutes.toFixed(1).padStart(5)} min wall`;
  // Batch mode (the nightly's default): a case only submits, so its work is the measured part.
  // Today a group submits one Batch API job per case (see README: one job per group is left to do).
  const batch = { jobFixedS, perCaseS, caseWorkS: 0 };
  const sync = { jobFixedS, perCaseS, caseWorkS: IMAGES_PER_CASE * SYNC_IMAGE_S };
  const before = backfillPlan(1, { ...batch, batchApiJobsPerJob: 1 });
  const after = backfillPlan(CASES_PER_JOB, { ...batch, batchApiJobsPerJob: CASES_PER_JOB });
  const beforeSync = backfillPlan(1, { ...sync, batchApiJobsPerJob: 0 });
  const afterSync = backfillPlan(CASES_PER_JOB, { ...sync, batchApiJobsPerJob: 0 });
  return [
    `measured (median of 3, committed bundle, fakes at zero latency):`,
    `  action start (node + bundle, refused at its first check): ${m.startS.toFixed(2)} s`,
    `  one-case job: ${m.oneCaseJobS.toFixed(2)} s; ten-case job: ${m.tenCaseJobS.toFixed(2)} s`,
    `  per case (branch settle, plan, save, push, pull request): ${perCaseS.toFixed(2)} s; per job (action start, set-up): ${jobFixedS.toFixed(2)} s`,
    `assumed: runner start + checkout ${RUNNER_START_S} s per job; sync image ${SYNC_IMAGE_S} s; billing rounds each job up to a minute; max-parallel ${MAX_PARALLEL}`,
    `backfill of ${CASES} cases x ${IMAGES_PER_CASE} images:`,
    row('batch mode, 1 case/job (before)', before),
    row(`batch mode, ${CASES_PER_JOB} cases/job (after)`, after),
    row('sync mode, 1 case/job (before)', beforeSync),
    row(`sync mode, ${CASES_PER_JOB} cases/job (after)`, afterSync),
    `ratios after/before: jobs ${(after.jobs / before.jobs).toFixed(2)}, billed runner-minutes batch ${(after.billedMinutes / before.billedMinutes).toFixed(2)}, sync ${(afterSync.billedMinutes / beforeSync.billedMinutes).toFixed(2)}`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchBackfill()) console.log(line);
}
