import { expect, test } from 'vitest';
import { checkout, nightlyInputs, runAction, runnerEnv, secretKey } from './support/action-env.ts';
import { useActionWorld } from './support/action-world.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGeminiBatch } from './support/fake-gemini-batch.ts';
import type { FakeGitHub } from './support/fake-github.ts';
import { type GitRemote, git } from './support/git-remote.ts';

/**
 * The nightly backfill in batch mode: a group of cases goes to the Batch API as one job, each
 * case's branch records its share, and the next night (grouped differently) collects every case's
 * images into its own branch and pull request, without a second job and without a synchronous call.
 */

const TOKEN = 'ghs_backfillbatch0123456789abcdef';
const SAMPLE = ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21'];
const ADDED = ['case-2025-01-22', 'case-2025-01-23'];
const CASES = [...SAMPLE, ...ADDED];

let gemini: FakeGemini;
let batch: FakeGeminiBatch;
let github: FakeGitHub;
let remote: GitRemote;
const key = secretKey();

useActionWorld({ token: TOKEN, batch: true, caseCopies: ADDED }, (w) => {
  ({ gemini, batch, github, remote } = w);
});

async function nightJob(caseIds: string[], runId: number) {
  return runAction('batch-generate', {
    cwd: await checkout(remote),
    inputs: nightlyInputs({ 'case-ids': caseIds.join(' ') }, { key, token: TOKEN }),
    env: runnerEnv({ github, gemini }, { event: 'schedule', runId }),
  });
}

async function branchesOf(): Promise<string[]> {
  const out = await git(remote.bare, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/images/']);
  return out.split('\n').filter(Boolean).sort();
}

async function changedOn(branch: string): Promise<string[]> {
  const out = await git(remote.bare, ['diff', '--name-only', 'main', branch]);
  return out.split('\n').filter(Boolean).sort();
}

test('batch mode: a group is one Batch API job; each case branch gets its share, then its own images and PR', async () => {
  // Night 1: groups of three and two (cases-per-job 3).
  const synchronousBefore = gemini.requests.length;
  const first = await nightJob(CASES.slice(0, 3), 501);
  expect(first.stderr).toBe('');
  expect(first.code, first.stdout).toBe(0);
  expect(batch.count('create')).toBe(1);
  const job = batch.jobs[0];
  // Every image of the three cases in the one job (13 for the samples).
  expect(job?.requests).toHaveLength(13);
  expect(new Set(job?.requests.map((r) => r.key?.split('/')[0]))).toEqual(new Set(CASES.slice(0, 3)));
  const second = await nightJob(CASES.slice(3), 501);
  expect(second.code, second.stdout).toBe(0);
  expect(batch.count('create')).toBe(2);
  expect(batch.jobs[1]?.requests).toHaveLength(8);
  expect(gemini.requests.length).toBe(synchronousBefore);

  // Each case branch holds only its share of its group's progress file; no image yet, no PR.
  expect(await branchesOf()).toEqual(CASES.map((id) => `images/${id}`));
  const groupBatch = first.outputs['batch-id'] ?? '';
  expect(groupBatch).toMatch(/^batch-\d{4}-\d{2}-\d{2}-\d+$/);
  for (const id of CASES.slice(0, 3)) {
    expect(await changedOn(`images/${id}`)).toEqual([`reports/progress/${groupBatch}.json`]);
    const share = JSON.parse(await remote.show(`images/${id}`, `reports/progress/${groupBatch}.json`));
    expect(share.status).toBe('submitted');
    expect(new Set(share.pending.map((p: { caseId: string }) => p.caseId))).toEqual(new Set([id]));
    expect(share.jobs).toHaveLength(1);
    expect(share.jobs[0].keys.every((k: string) => k.startsWith(`${id}/`))).toBe(true);
  }
  expect(github.pulls).toHaveLength(0);

  // Night 2, grouped differently (two and three): the jobs have finished; every case collects its own.
  await batch.advanceAll('succeeded');
  const getsBefore = batch.count('get');
  const third = await nightJob(CASES.slice(0, 2), 502);
  const fourth = await nightJob(CASES.slice(2), 502);
  // A finished job is fetched once per group, not once per case: job 1 by each group, job 2 by the second.
  expect(batch.count('get') - getsBefore).toBe(3);
  for (const run of [third, fourth]) {
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['exit-code']).toBe('0');
  }
  expect(batch.count('create')).toBe(2);
  expect(gemini.requests.length).toBe(synchronousBefore);
  for (const id of CASES) {
    const changed = await changedOn(`images/${id}`);
    expect(changed.filter((p) => !p.startsWith(`cases/${id}/images/`))).toHaveLength(1);
    const manifest = JSON.parse(await remote.show(`images/${id}`, `cases/${id}/images/manifest.json`));
    for (const entry of Object.values(manifest.images) as Array<{ mode: string }>)
      expect(entry.mode).toBe('batch');
  }
  expect(github.pulls.map((p) => p.head).sort()).toEqual(CASES.map((id) => `images/${id}`));
  for (const pr of github.pulls) {
    const id = pr.head.slice('images/'.length);
    for (const other of CASES.filter((c) => c !== id)) expect(pr.body).not.toContain(other);
  }

  // Night 3: nothing left to do anywhere; no new job.
  const fifth = await nightJob(CASES, 503);
  expect(fifth.code, fifth.stdout).toBe(0);
  expect(batch.count('create')).toBe(2);
}, 120_000);
