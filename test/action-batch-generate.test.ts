import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  type ActionRun,
  checkout,
  leakedLines,
  OWNER,
  REPO_NAME,
  repoText,
  runAction,
  runnerEnv,
  secretKey,
} from './support/action-env.ts';
import { expectSecretNowhere, useActionWorld } from './support/action-world.ts';
import { type FakeArtifactService, unzip } from './support/fake-artifact.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGitHub } from './support/fake-github.ts';
import { type GitRemote, git } from './support/git-remote.ts';

const CASE = 'case-2025-01-19';
const BRANCH = `images/${CASE}`;
const TOKEN = 'ghs_testtoken0123456789abcdef';

let gemini: FakeGemini;
let github: FakeGitHub;
let artifacts: FakeArtifactService;
let remote: GitRemote;
const key = secretKey();
const runs: ActionRun[] = [];
/** Runs that were given the key (the no-key tests pass an empty gemini-api-key). */
const keyed = new Set<ActionRun>();
const clones: string[] = [];

useActionWorld({ token: TOKEN, artifacts: true }, (w) => {
  ({ gemini, github, artifacts, remote } = w);
  // The stale-bundle check runs this on every CI build; it has to stay cheap.
  expect(w.buildMs).toBeLessThan(15_000);
});

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return runnerEnv({ github, gemini, artifacts }, { event: 'workflow_dispatch', extra });
}

async function generate(inputs: Record<string, string>, extraEnv: Record<string, string | undefined> = {}) {
  const cwd = await checkout(remote);
  clones.push(cwd);
  const all = { 'github-token': TOKEN, 'gemini-api-key': key, ...inputs };
  const run = await runAction('batch-generate', { cwd, inputs: all, env: env(extraEnv) });
  runs.push(run);
  if (all['gemini-api-key'] === key) keyed.add(run);
  return { run, cwd };
}

describe('batch-generate, run as a runner runs it', () => {
  test('first run: generates the case, pushes images/<case-id>, opens a labelled PR, uploads the reports', async () => {
    const { run } = await generate({
      'case-id': CASE,
      commit: 'true',
      'open-pr': 'true',
      'artifact-name': 'lineup-report-test',
    });
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);

    const batchId = run.outputs['batch-id'] ?? '';
    expect(batchId).toMatch(/^batch-\d{4}-\d{2}-\d{2}-\d{3}$/);
    expect(run.outputs).toMatchObject({
      total: '4',
      successful: '4',
      failed: '0',
      branch: BRANCH,
      'report-path': `reports/errors/${batchId}.json`,
      'pull-request-url': `https://github.com/${OWNER}/${REPO_NAME}/pull/1`,
    });
    expect(Number(run.outputs.cost)).toBeCloseTo(4 * 0.0336, 6);

    // The branch holds exactly what the run made, on top of main.
    const files = await remote.filesAt(BRANCH);
    expect(files).toEqual(
      expect.arrayContaining([
        `cases/${CASE}/case.json`,
        `cases/${CASE}/images/manifest.json`,
        `cases/${CASE}/images/scene.png`,
        `cases/${CASE}/images/suspect-1.png`,
        `cases/${CASE}/images/suspect-2.png`,
        `cases/${CASE}/images/suspect-3.png`,
        `reports/progress/${batchId}.json`,
      ]),
    );
    expect(files.some((f) => f.startsWith('reports/errors/') || f.startsWith('reports/logs/'))).toBe(false);
    expect(files.some((f) => f.startsWith('cases/case-2025-01-20/images'))).toBe(false);
    const manifest = JSON.parse(await remote.show(BRANCH, `cases/${CASE}/images/manifest.json`));
    expect(Object.keys(manifest.images).sort()).toEqual(['scene', 'suspect-1', 'suspect-2', 'suspect-3']);
    expect(manifest.images['suspect-1']).toMatchObject({
      provider: 'gemini',
      batchId,
      review: { status: 'pending' },
    });
    expect(await remote.log(BRANCH)).toEqual([
      `lineup: images for ${CASE} (${batchId})`,
      'sample cases',
      'initial',
    ]);
    const tip = await tipOf(BRANCH);

    // One PR, labelled, with the gallery pinned to the pushed commit.
    expect(github.pulls).toHaveLength(1);
    const pr = github.pulls[0];
    expect(pr).toMatchObject({ head: BRANCH, base: 'main', title: `Images for ${CASE}`, state: 'open' });
    expect(pr?.labels.sort()).toEqual(['images', 'lineup']);
    expect(pr?.body).toContain('<!-- lineup:gallery -->');
    expect(pr?.body).toContain(`/blob/${tip}/cases/${CASE}/images/suspect-2.png?raw=true`);
    expect(pr?.body).toContain('How to review');
    // With a key the vision judge is on (flag): its verdicts reach the manifest, gallery and summary.
    expect(manifest.images['suspect-1'].vision).toMatchObject({
      status: 'pass',
      model: 'gemini-3.1-flash-lite',
    });
    expect(manifest.lineup).toMatchObject({ status: 'pass' });
    expect(pr?.body).toContain('vision ✓ 0.92: ✓ one-person ✓ age');
    expect(run.summary).toContain('Vision QA: 4 passed, 0 flagged, 0 not judged.');

    // The job summary has the same table.
    expect(run.summary).toContain('| Image | Case | Id | Shows | Model | Cost | Flags | Review |');
    expect(run.summary).toContain(`/blob/${tip}/cases/${CASE}/images/scene.png?raw=true`);
    expect(run.summary).toContain('pull/1');

    // The batch's log went to the CI log, inside a group.
    expect(run.stdout).toContain(`::group::Batch ${batchId}`);
    expect(run.stdout).toMatch(/PROGRESS: 4\/4 \(100%\)/);
    expect(run.stdout).toContain('::endgroup::');

    // One artifact, its bytes received, with the error report and the log inside.
    const artifact = artifacts.artifacts.find((a) => a.name === 'lineup-report-test');
    expect(artifact?.finalized).toBe(true);
    expect(artifact?.zip.length).toBeGreaterThan(0);
    const entries = unzip(artifact?.zip ?? Buffer.alloc(0));
    const names = entries.map((e) => e.name).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        `reports/errors/${batchId}.json`,
        `reports/logs/${batchId}.log`,
        'reports/stats.csv',
      ]),
    );
    const report = JSON.parse(
      entries.find((e) => e.name === `reports/errors/${batchId}.json`)?.data.toString() ?? '{}',
    );
    expect(report.summary).toEqual({ total: 4, successful: 4, failed: 0, pending: 0 });
    expect(entries.find((e) => e.name === 'reports/stats.csv')?.data.toString()).toContain(batchId);
  });

  test('second run on the same case: adds a commit on the branch and updates the PR instead of opening another', async () => {
    const firstBody = github.pulls[0]?.body ?? '';
    const before = gemini.requests.length;
    const { run } = await generate({
      'case-id': CASE,
      type: 'scene',
      force: 'true',
      commit: 'true',
      'open-pr': 'true',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(gemini.requests.length - before).toBe(1);
    expect(run.outputs).toMatchObject({ total: '1', successful: '1', branch: BRANCH });

    expect(github.pulls).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'POST' && /\/pulls$/.test(r.path))).toHaveLength(1);
    expect(github.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/pulls/1'))).toBe(true);
    const tip = await tipOf(BRANCH);
    expect(github.pulls[0]?.body).not.toBe(firstBody);
    expect(github.pulls[0]?.body).toContain(`/blob/${tip}/`);
    expect(run.outputs['pull-request-url']).toBe(`https://github.com/${OWNER}/${REPO_NAME}/pull/1`);

    const log = await remote.log(BRANCH);
    expect(log).toHaveLength(4);
    // The rerun started from the branch's images: the suspects of run one are still there, unchanged.
    const manifest = JSON.parse(await remote.show(BRANCH, `cases/${CASE}/images/manifest.json`));
    expect(Object.keys(manifest.images).sort()).toEqual(['scene', 'suspect-1', 'suspect-2', 'suspect-3']);
    expect(manifest.images.scene.batchId).toBe(run.outputs['batch-id']);
    expect(manifest.images['suspect-1'].batchId).not.toBe(run.outputs['batch-id']);
    // Batch ids are numbered from the branch's progress files, so the rerun's id is new there too.
    const progress = (await remote.filesAt(BRANCH)).filter((f) => f.startsWith('reports/progress/'));
    expect(progress).toHaveLength(2);
    // The artifact name defaults to the batch id.
    expect(artifacts.artifacts.map((a) => a.name)).toContain(`lineup-report-${run.outputs['batch-id']}`);
  });

  test('after the PR was merged, the next run starts the branch over from main, picks up a case edit there and opens a new PR', async () => {
    const pr = github.pulls.find((p) => p.head === BRANCH && p.state === 'open');
    expect(pr).toBeDefined();
    const mergedTip = await tipOf(BRANCH);
    // The PR is merged (a merge commit on main; GitHub keeps the branch), then the case's scene is
    // edited on main, so its image there is stale.
    const work = await checkout(remote);
    clones.push(work);
    await git(work, ['merge', '-q', '--no-ff', '-m', `Merge ${BRANCH}`, `origin/${BRANCH}`]);
    const caseFile = join(work, 'cases', CASE, 'case.json');
    const data = JSON.parse(await readFile(caseFile, 'utf8'));
    data.scene.description = `${data.scene.description} Rain has washed the footprints away.`;
    await writeFile(caseFile, `${JSON.stringify(data, null, 2)}\n`);
    await git(work, ['commit', '-q', '-am', 'edit the scene on main']);
    await git(work, ['push', '-q', 'origin', 'main']);
    const mainTip = await tipOf('main');
    if (pr) {
      pr.state = 'closed';
      pr.headSha = mergedTip;
    }

    const before = gemini.requests.length;
    const posts = github.requests.filter((r) => r.method === 'POST' && /\/pulls$/.test(r.path)).length;
    const { run } = await generate({ 'case-id': CASE, fix: 'true', commit: 'true', 'open-pr': 'true' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`pull request #${pr?.number} was closed`);
    expect(run.stdout).not.toContain(`Continuing from ${BRANCH}`);
    // Only the stale scene is made again; the merged suspects come from main.
    expect(gemini.requests.length - before).toBe(1);
    expect(run.outputs).toMatchObject({ total: '1', successful: '1', branch: BRANCH });

    // The branch starts over on top of main: main's edited case.json, one new commit.
    expect(await git(remote.bare, ['rev-parse', `${BRANCH}^`])).toBe(mainTip);
    expect(await remote.show(BRANCH, `cases/${CASE}/case.json`)).toBe(
      await remote.show('main', `cases/${CASE}/case.json`),
    );
    const manifest = JSON.parse(await remote.show(BRANCH, `cases/${CASE}/images/manifest.json`));
    expect(manifest.images.scene.batchId).toBe(run.outputs['batch-id']);
    expect(manifest.images['suspect-1'].batchId).not.toBe(run.outputs['batch-id']);

    // A new PR, the merged one left alone.
    expect(github.requests.filter((r) => r.method === 'POST' && /\/pulls$/.test(r.path))).toHaveLength(
      posts + 1,
    );
    const open = github.pulls.filter((p) => p.head === BRANCH && p.state === 'open');
    expect(open).toHaveLength(1);
    expect(open[0]?.number).not.toBe(pr?.number);
    expect(open[0]?.base).toBe('main');
    expect(run.outputs['pull-request-url']).toBe(
      `https://github.com/${OWNER}/${REPO_NAME}/pull/${open[0]?.number}`,
    );
    expect(pr?.state).toBe('closed');
  });

  test('no key and no explicit placeholder: fails with a clear message, nothing generated or pushed', async () => {
    const before = gemini.requests.length;
    const tip = await tipOf(BRANCH);
    const { run } = await generate({ 'case-id': 'case-2025-01-20', commit: 'true', 'gemini-api-key': '' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::.*gemini-api-key/);
    expect(gemini.requests.length).toBe(before);
    expect(await remote.filesAt('images/case-2025-01-20')).toEqual([]);
    expect(await tipOf(BRANCH)).toBe(tip);
  });

  test('provider: placeholder on purpose works without a key, and the PR says the images are placeholders', async () => {
    const { run } = await generate({
      'case-id': 'case-2025-01-20',
      provider: 'placeholder',
      'gemini-api-key': '',
      commit: 'true',
      'open-pr': 'true',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const pr = github.pulls.find((p) => p.head === 'images/case-2025-01-20');
    expect(pr?.body).toContain('placeholder');
  });

  test('failed images: the step fails, each failure is an annotation, the rest is still committed', async () => {
    gemini.setHandler((r) => (r.aspectRatio === '16:9' ? { kind: 'status', status: 400 } : undefined));
    try {
      const { run } = await generate({ 'case-id': 'case-2025-01-21', commit: 'true', 'open-pr': 'true' });
      expect(run.code).toBe(1);
      expect(run.outputs).toMatchObject({ failed: '1' });
      expect(run.stdout).toMatch(
        /::error title=case-2025-01-21\/scene%3A validation,file=cases\/case-2025-01-21\/case.json::HTTP 400/,
      );
      expect(run.stdout).toMatch(/::error::1 of \d+ image\(s\) failed/);
      const files = await remote.filesAt('images/case-2025-01-21');
      expect(files).toContain('cases/case-2025-01-21/images/suspect-1.png');
      expect(files).not.toContain('cases/case-2025-01-21/images/scene.png');
      const pr = github.pulls.find((p) => p.head === 'images/case-2025-01-21');
      expect(pr?.body).toContain('Not generated');
    } finally {
      gemini.setHandler(undefined);
    }
  });

  test('stopped early on purpose (cost cap): a warning, not a failure', async () => {
    const { run } = await generate({ 'case-id': 'case-2025-01-20', force: 'true', 'max-cost': '0.05' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs).toMatchObject({ successful: '1' });
    expect(run.stdout).toMatch(/::warning title=lineup batch stopped early::Stopped early on purpose/);
    expect(run.stdout).not.toContain('::error');
  });

  test('estimate-only: counts and prices, calls and writes nothing', async () => {
    const before = gemini.requests.length;
    const { run, cwd } = await generate({ 'case-id': 'case-2025-01-21', 'estimate-only': 'true' });
    expect(run.code).toBe(0);
    expect(run.outputs.total).toBe('5');
    expect(gemini.requests.length).toBe(before);
    // Nothing written: the checkout is exactly as cloned (main holds merged progress files by now).
    expect(await git(cwd, ['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });

  test('bad input is one clear failure', async () => {
    const { run } = await generate({ 'case-id': '../../etc', commit: 'true' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::.*is not a case id/);
  });

  test('dispatched from an images/* ref after its PR was closed unmerged: starts over, the new PR targets the default branch', async () => {
    const head = 'images/case-2025-01-21';
    const pr = github.pulls.find((p) => p.head === head && p.state === 'open');
    expect(pr).toBeDefined();
    const rejectedTip = await tipOf(head);
    if (pr) {
      pr.state = 'closed';
      pr.headSha = rejectedTip;
    }
    const dir = await mkdtemp(join(tmpdir(), 'lineup-event-'));
    const eventPath = join(dir, 'event.json');
    await writeFile(eventPath, JSON.stringify({ repository: { default_branch: 'main' }, inputs: {} }));
    const before = gemini.requests.length;
    const { run } = await generate(
      { 'case-id': 'case-2025-01-21', commit: 'true', 'open-pr': 'true' },
      { GITHUB_REF: `refs/heads/${head}`, GITHUB_EVENT_PATH: eventPath },
    );
    await rm(dir, { recursive: true, force: true });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // The rejected images are not carried over: every image is made again, on top of main.
    expect(gemini.requests.length - before).toBe(5);
    expect(await git(remote.bare, ['rev-parse', `${head}^`])).toBe(await tipOf('main'));
    const open = github.pulls.filter((p) => p.head === head && p.state === 'open');
    expect(open).toHaveLength(1);
    expect(open[0]?.number).not.toBe(pr?.number);
    expect(open[0]?.base).toBe('main');
    for (const p of github.pulls) expect(p.base).not.toBe(p.head);
  });

  test('a batch file over several cases goes to images/<batch-id>, with every case.json it needs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lineup-weekly-'));
    const batchFile = join(dir, 'weekly-batch.json');
    await writeFile(
      batchFile,
      JSON.stringify({
        images: [
          { type: 'suspect', caseId: 'case-2025-01-20', suspectId: 'suspect-1' },
          { type: 'scene', caseId: 'case-2025-01-21' },
        ],
        options: { delay: 0, maxConcurrent: 1, stopOnError: false },
      }),
    );
    const { run } = await generate({ 'batch-file': batchFile, commit: 'true', 'open-pr': 'true' });
    await rm(dir, { recursive: true, force: true });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const batchId = run.outputs['batch-id'] ?? '';
    expect(run.outputs.branch).toBe(`images/${batchId}`);
    const files = await remote.filesAt(`images/${batchId}`);
    expect(files).toEqual(
      expect.arrayContaining([
        'cases/case-2025-01-20/case.json',
        'cases/case-2025-01-20/images/suspect-1.png',
        'cases/case-2025-01-21/case.json',
        'cases/case-2025-01-21/images/scene.png',
        `reports/progress/${batchId}.json`,
      ]),
    );
    const pr = github.pulls.find((p) => p.head === `images/${batchId}`);
    expect(pr?.title).toBe(`Images for 2 cases (${batchId})`);
    expect(pr?.body).toContain('/regenerate case-2025-01-20/suspect-1');
  });

  test('resuming a batch over several cases continues from images/<batch-id>, keeps its images and updates its PR', async () => {
    const pr = github.pulls.find((p) => /^images\/batch-/.test(p.head) && p.state === 'open');
    const head = pr?.head ?? '';
    const batchId = head.slice('images/'.length);
    const before = await remote.filesAt(head);
    const image = `${head}:cases/case-2025-01-20/images/suspect-1.png`;
    const blob = await git(remote.bare, ['rev-parse', image]);
    const pulls = github.pulls.length;
    const { run } = await generate({ resume: batchId, commit: 'true', 'open-pr': 'true' });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`Continuing from ${head}`);
    expect(run.outputs).toMatchObject({ 'batch-id': batchId, branch: head });
    // Main's copies of the cases (no images) never replace what the branch holds.
    expect(await remote.filesAt(head)).toEqual(before);
    expect(before).toContain('cases/case-2025-01-20/images/suspect-1.png');
    expect(await git(remote.bare, ['rev-parse', image])).toBe(blob);
    expect(github.pulls).toHaveLength(pulls);
    expect(run.outputs['pull-request-url']).toBe(
      `https://github.com/${OWNER}/${REPO_NAME}/pull/${pr?.number}`,
    );
  });

  test('the API key appears nowhere: output, files, commits, PRs, comments, artifacts', async () => {
    expect(runs.length).toBeGreaterThan(3);
    expect(keyed.size).toBeGreaterThan(3);
    expect(keyed.size).toBeLessThan(runs.length);
    for (const run of runs) {
      // The key is masked before anything else runs: the one line of stdout holding it is exactly
      // the ::add-mask:: command, once. A run without a key has no such line (nothing to mask).
      const withKey = run.stdout.split('\n').filter((l) => l.includes(key));
      expect(withKey).toEqual(keyed.has(run) ? [`::add-mask::${key}`] : []);
      expect(run.stdout.split('\n').filter((l) => l.includes(TOKEN))).toEqual([`::add-mask::${TOKEN}`]);
      // The token is masked the same way.
      expect(leakedLines(run.stdout, TOKEN)).toEqual([]);
    }
    // It was used: the fake Gemini saw it in the header, and only there.
    expect(gemini.requests.some((r) => r.apiKey === key)).toBe(true);
    await expectSecretNowhere(key, { runs, dirs: [...clones, remote.bare], github, artifacts });
    // Nor the token, in anything that was committed.
    expect(await repoText(remote.bare)).not.toContain(TOKEN);
  });
});

function tipOf(branch: string): Promise<string> {
  return git(remote.bare, ['rev-parse', branch]);
}
