import { describe, expect, test } from 'vitest';
import {
  checkout,
  runAction,
  runnerEnv,
  type StartedAction,
  secretKey,
  startAction,
} from './support/action-env.ts';
import { useFreshWorlds } from './support/action-world.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGitHub } from './support/fake-github.ts';
import { type GitRemote, git } from './support/git-remote.ts';

/**
 * A nightly backfill as the workflow runs it: scan-missing's matrix of case groups, then one
 * bundled batch-generate per entry with `case-ids`, against the fake Gemini, the fake GitHub and a
 * local bare remote. The review unit stays the case: one branch and one pull request per case.
 */

const TOKEN = 'ghs_testtoken0123456789abcdef';
const SAMPLE = ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21'];
const ADDED = ['case-2025-01-22', 'case-2025-01-23'];
const CASES = [...SAMPLE, ...ADDED];

let gemini: FakeGemini;
const key = secretKey();
const freshWorld = useFreshWorlds(TOKEN, (fake) => {
  gemini = fake;
});

/** The sample cases plus two more (copies under new ids), all on main, no images anywhere. */
function world(): Promise<{ remote: GitRemote; github: FakeGitHub }> {
  return freshWorld(ADDED);
}

function env(github: FakeGitHub): Record<string, string | undefined> {
  // One workflow run: batch ids are scoped by it and the case, so parallel jobs never share one.
  return runnerEnv({ github, gemini }, { event: 'schedule', runId: 7001 });
}

function generateInputs(caseIds: string): Record<string, string> {
  return {
    'case-ids': caseIds,
    fix: 'true',
    mode: 'sync',
    commit: 'true',
    'open-pr': 'true',
    'gemini-api-key': key,
    'github-token': TOKEN,
  };
}

async function startGroup(
  w: { remote: GitRemote; github: FakeGitHub },
  caseIds: string,
  extra: Record<string, string> = {},
): Promise<StartedAction> {
  const cwd = await checkout(w.remote);
  return startAction('batch-generate', {
    cwd,
    inputs: { ...generateInputs(caseIds), ...extra },
    env: env(w.github),
  });
}

/** Paths a branch adds or changes on top of main. */
async function changedOn(remote: GitRemote, branch: string): Promise<string[]> {
  const out = await git(remote.bare, ['diff', '--name-only', 'main', branch]);
  return out.split('\n').filter(Boolean).sort();
}

async function branchesOf(remote: GitRemote): Promise<string[]> {
  const out = await git(remote.bare, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/images/']);
  return out.split('\n').filter(Boolean).sort();
}

describe('a backfill in a handful of jobs', () => {
  test('5 cases, cases-per-job 2: 3 matrix entries, 5 branches, 5 pull requests, each with only its case', async () => {
    const w = await world();
    const scan = await runAction('scan-missing', {
      cwd: await checkout(w.remote),
      inputs: { 'scan-all': 'true', 'cases-per-job': '2' },
      env: {},
    });
    expect(scan.code, scan.stdout + scan.stderr).toBe(0);
    const matrix = JSON.parse(scan.outputs.matrix ?? '') as string[];
    expect(matrix).toEqual([`${CASES[0]} ${CASES[1]}`, `${CASES[2]} ${CASES[3]}`, `${CASES[4]}`]);
    expect(scan.outputs['case-count']).toBe('5');

    // max-parallel 2: two jobs at once, then the third.
    const before = gemini.requests.length;
    const first = await Promise.all(
      matrix.slice(0, 2).map(async (entry) => (await startGroup(w, entry)).done),
    );
    const last = await (await startGroup(w, matrix[2] ?? '')).done;
    const jobs = [...first, last];
    for (const run of jobs) {
      expect(run.stderr).toBe('');
      expect(run.code, run.stdout).toBe(0);
      expect(run.outputs['exit-code']).toBe('0');
      expect(run.outputs['untouched-cases']).toBe('');
    }
    expect(first[0]?.outputs.branch).toBe(`images/${CASES[0]} images/${CASES[1]}`);
    expect(first[0]?.outputs.successful).toBe(
      String(Number(first[0]?.outputs.total) - Number(first[0]?.outputs.failed)),
    );
    expect(first[0]?.stdout).toContain(`Case 2 of 2: ${CASES[1]}`);

    // Every image of every case asked for exactly once.
    const total = jobs.reduce((n, r) => n + Number(r.outputs.total), 0);
    expect(gemini.requests.length - before).toBe(total);

    // One branch per case, holding its own images, manifest and progress file, nothing of another case.
    expect(await branchesOf(w.remote)).toEqual(CASES.map((id) => `images/${id}`));
    const batchIds = jobs.flatMap((r) => (r.outputs['batch-id'] ?? '').split(' '));
    expect(new Set(batchIds).size).toBe(5);
    for (const id of CASES) {
      const changed = await changedOn(w.remote, `images/${id}`);
      const others = changed.filter((p) => !p.startsWith(`cases/${id}/images/`));
      expect(others, id).toHaveLength(1);
      expect(others[0]).toMatch(/^reports\/progress\/batch-[\d-]+\.json$/);
      const progress = JSON.parse(await w.remote.show(`images/${id}`, others[0] ?? ''));
      expect(new Set(progress.completed.map((c: { caseId: string }) => c.caseId))).toEqual(new Set([id]));
      expect(changed).toContain(`cases/${id}/images/manifest.json`);
    }

    // One pull request per case, its gallery showing only that case.
    expect(w.github.pulls.map((p) => p.head).sort()).toEqual(CASES.map((id) => `images/${id}`));
    for (const pr of w.github.pulls) {
      const id = pr.head.slice('images/'.length);
      expect(pr.title).toBe(`Images for ${id}`);
      for (const other of CASES.filter((c) => c !== id)) expect(pr.body).not.toContain(other);
    }
  }, 120_000);

  test('deadline in a group: the case under way stops and is pushed, later cases untouched, the rerun goes on', async () => {
    const w = await world();
    const group = CASES.slice(0, 3).join(',');
    gemini.setHandler(() => ({ kind: 'image', latencyMs: 2_500 }));
    const before = gemini.requests.length;
    // 6 s: the first case's four images at 2.5 s each cannot all be made.
    const run = await (await startGroup(w, group, { 'deadline-minutes': '0.1' })).done;
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['exit-code']).toBe('3');
    expect(run.outputs['untouched-cases']).toBe(`${CASES[1]} ${CASES[2]}`);
    expect(run.stdout).toMatch(
      /::warning title=lineup group stopped early::2 case\(s\) left untouched \(deadline-minutes reached\)/,
    );
    expect(run.summary).toContain(`| ${CASES[2]} | 0 | $0.00 | untouched |`);
    const requested = gemini.requests.length - before;
    expect(requested).toBeGreaterThan(0);
    expect(requested).toBeLessThan(4);
    // Only the first case was touched: its branch holds what answered, the others have none.
    expect(await branchesOf(w.remote)).toEqual([`images/${CASES[0]}`]);
    const manifest = JSON.parse(
      await w.remote.show(`images/${CASES[0]}`, `cases/${CASES[0]}/images/manifest.json`),
    );
    expect(Object.keys(manifest.images)).toHaveLength(requested);

    // The same group again (the next night): the rest of the first case, then the other two.
    gemini.setHandler(undefined);
    const again = gemini.requests.length;
    const rerun = await (await startGroup(w, group)).done;
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.outputs['exit-code']).toBe('0');
    expect(await branchesOf(w.remote)).toEqual(CASES.slice(0, 3).map((id) => `images/${id}`));
    // The three sample cases hold 13 images in all; what the first run made is never asked again.
    expect(rerun.outputs.total).toBe(String(13 - requested));
    expect(gemini.requests.length - again).toBe(13 - requested);
  }, 60_000);
  test('cancel in a group: the finished case and what the case under way had answered are on the remote, the rest untouched', async () => {
    const w = await world();
    // The first case's four images and the second case's first answer at once; the next one hangs.
    let seen = 0;
    gemini.setHandler(() => (seen++ < 5 ? undefined : { kind: 'image', latencyMs: 120_000 }));
    const before = gemini.requests.length;
    const child = await startGroup(w, CASES.slice(0, 3).join('\n'));
    await child.waitForOutput(/Case 2 of 3: case-2025-01-20/);
    // The sixth request is out: one worker, so the fifth (the second case's first image) is saved.
    await gemini.waitForRequests(before + 6);
    // The runner's cancel: SIGINT, then SIGTERM 7.5 s later; the action ends within the 5 s window.
    child.kill('SIGINT');
    const run = await child.done;
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['exit-code']).toBe('3');
    expect(run.outputs['untouched-cases']).toBe(CASES[2]);
    expect(gemini.requests.length - before).toBe(6);

    expect(await branchesOf(w.remote)).toEqual([`images/${CASES[0]}`, `images/${CASES[1]}`]);
    const first = JSON.parse(
      await w.remote.show(`images/${CASES[0]}`, `cases/${CASES[0]}/images/manifest.json`),
    );
    expect(Object.keys(first.images)).toHaveLength(4);
    const second = JSON.parse(
      await w.remote.show(`images/${CASES[1]}`, `cases/${CASES[1]}/images/manifest.json`),
    );
    expect(Object.keys(second.images)).toHaveLength(1);
    const progressFile = (await changedOn(w.remote, `images/${CASES[1]}`)).find((p) =>
      p.startsWith('reports/'),
    );
    const progress = JSON.parse(await w.remote.show(`images/${CASES[1]}`, progressFile ?? ''));
    expect(progress).toMatchObject({ status: 'stopped', stopReason: 'cancelled (SIGINT)' });
    expect(w.github.pulls.map((p) => p.head).sort()).toEqual([`images/${CASES[0]}`, `images/${CASES[1]}`]);
    expect(run.stdout).toContain(`1 case(s) left untouched (cancelled (SIGINT)): ${CASES[2]}`);
  }, 60_000);
  test("max-cost is the group's: the second case gets what the first left, the third is untouched", async () => {
    const w = await world();
    const before = gemini.requests.length;
    // At the model's price ($0.03-0.04 an image) the first case's four leave room for one more.
    const run = await (await startGroup(w, CASES.slice(0, 3).join(' '), { 'max-cost': '0.2' })).done;
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['exit-code']).toBe('3');
    expect(gemini.requests.length - before).toBe(5);
    expect(Number(run.outputs.cost)).toBeLessThanOrEqual(0.2);
    expect(Number(run.outputs.cost)).toBeGreaterThan(0.15);
    expect(run.outputs['untouched-cases']).toBe(CASES[2]);
    expect(await branchesOf(w.remote)).toEqual([`images/${CASES[0]}`, `images/${CASES[1]}`]);
  }, 60_000);
});
