import { describe, expect, test } from 'vitest';
import {
  type ActionRun,
  checkout,
  leakedLines,
  nightlyInputs,
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
import type { FakeGeminiBatch } from './support/fake-gemini-batch.ts';
import type { FakeGitHub } from './support/fake-github.ts';
import { type GitRemote, git } from './support/git-remote.ts';

/**
 * The nightly workflow's step, three nights in a row: the bundled batch-generate action with
 * `mode: batch` run as a child process against the fake Gemini (Batch API routes included), the
 * fake GitHub REST API, the fake artifact service and a real bare remote. Night 1 submits, night 2
 * finds the job still pending, night 3 collects it.
 */

const CASE = 'case-2025-01-19';
const BRANCH = `images/${CASE}`;
const TOKEN = 'ghs_batchmodetoken0123456789abcdef';
const IMAGES = ['scene', 'suspect-1', 'suspect-2', 'suspect-3'];
const PROGRESS_DIR = 'reports/progress/';

let gemini: FakeGemini;
let batch: FakeGeminiBatch;
let github: FakeGitHub;
let artifacts: FakeArtifactService;
let remote: GitRemote;
const key = secretKey();
const runs: ActionRun[] = [];
const clones: string[] = [];
/** The batch night 1 submitted, and the commit it left on the branch. */
let batchId = '';
let night1Tip = '';

useActionWorld({ token: TOKEN, batch: true, artifacts: true }, (w) => {
  ({ gemini, batch, github, artifacts, remote } = w);
});

/** One night: a fresh checkout of main, the nightly workflow's inputs, its own run id. */
async function night(runId: number): Promise<ActionRun> {
  const cwd = await checkout(remote);
  clones.push(cwd);
  const run = await runAction('batch-generate', {
    cwd,
    inputs: {
      ...nightlyInputs({ 'case-id': CASE }, { key, token: TOKEN }),
      'artifact-name': `lineup-report-${CASE}`,
    },
    env: runnerEnv(
      { github, gemini, artifacts },
      { event: 'schedule', runId, extra: { GITHUB_RUN_ATTEMPT: '1' } },
    ),
  });
  runs.push(run);
  return run;
}

/** The gallery table's row for one image of the case, as { column header: cell }. */
function galleryRow(body: string, imageId: string): Record<string, string> {
  const lines = body.split('\n');
  const header = lines.find((l) => l.startsWith('| Image | Case | Id |'));
  if (!header) throw new Error('no gallery table in the PR body');
  const cells = (line: string) =>
    line
      .replace(/^\|\s?|\s?\|$/g, '')
      .split(' | ')
      .map((c) => c.trim());
  const names = cells(header);
  const rows = lines.map(cells).filter((row) => row[1] === CASE && row[2] === imageId);
  if (rows.length !== 1) throw new Error(`expected one gallery row for ${imageId}, found ${rows.length}`);
  const row = rows[0] ?? [];
  expect(row).toHaveLength(names.length);
  return Object.fromEntries(names.map((name, i) => [name, row[i] ?? '']));
}

function tipOf(branch: string): Promise<string> {
  return git(remote.bare, ['rev-parse', branch]);
}

async function progressOnBranch(id: string): Promise<Record<string, unknown>> {
  return JSON.parse(await remote.show(BRANCH, `${PROGRESS_DIR}${id}.json`)) as Record<string, unknown>;
}

function generateCalls(): number {
  return gemini.requests.filter((r) => r.path.endsWith(':generateContent')).length;
}

describe('batch-generate with mode: batch, three nights in a row', () => {
  test('night 1: submits one job with the case’s four images and records it on images/<case-id>', async () => {
    const run = await night(5001);
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain('::error');

    // One job at the fake, with the case's four images, and nothing generated synchronously.
    expect(batch.count('create')).toBe(1);
    expect(batch.jobs).toHaveLength(1);
    const job = batch.jobs[0];
    expect(job?.state).toBe('pending');
    expect(job?.requests.map((r) => r.key).sort()).toEqual(IMAGES.map((i) => `${CASE}/${i}`));
    expect(job?.requests.find((r) => r.key === `${CASE}/scene`)?.aspectRatio).toBe('16:9');
    expect(generateCalls()).toBe(0);

    batchId = run.outputs['batch-id'] ?? '';
    expect(batchId).toMatch(/^batch-\d{4}-\d{2}-\d{2}-\d{3,}$/);
    expect(job?.displayName).toContain(batchId);
    expect(run.outputs).toMatchObject({
      total: '4',
      successful: '0',
      failed: '0',
      branch: BRANCH,
      cost: '0',
    });
    expect(run.stdout).toContain('Submitted to the Gemini Batch API');

    // The progress file, status submitted with the job's name, is what the branch holds: no images yet.
    const files = await remote.filesAt(BRANCH);
    expect(files).toContain(`${PROGRESS_DIR}${batchId}.json`);
    expect(files.some((f) => f.startsWith(`cases/${CASE}/images/`))).toBe(false);
    const progress = await progressOnBranch(batchId);
    expect(progress).toMatchObject({ batchId, status: 'submitted', mode: 'batch' });
    expect((progress.pending as unknown[]).length).toBe(4);
    expect(progress.completed).toEqual([]);
    expect(progress.jobs).toEqual([expect.objectContaining({ name: job?.name })]);
    expect(await remote.log(BRANCH)).toEqual([
      `lineup: images for ${CASE} (${batchId})`,
      'sample cases',
      'initial',
    ]);
    night1Tip = await tipOf(BRANCH);

    // No pull request yet: there is nothing to review until the images come back.
    expect(github.pulls).toEqual([]);
    expect(run.outputs['pull-request-url']).toBeUndefined();
    // The submission's report and log are still uploaded.
    const artifact = artifacts.artifacts.find((a) => a.name === `lineup-report-${CASE}`);
    expect(artifact?.finalized).toBe(true);
    const names = unzip(artifact?.zip ?? Buffer.alloc(0)).map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([`reports/errors/${batchId}.json`, `reports/logs/${batchId}.log`]),
    );
  });

  test('night 2, the job still pending: no second job, nothing planned, nothing pushed', async () => {
    expect(batchId).not.toBe('');
    const artifactsBefore = artifacts.artifacts.length;
    const gets = batch.count('get');
    const run = await night(5002);
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain('::error');

    // The job was asked about, and left alone.
    expect(batch.count('get')).toBeGreaterThan(gets);
    expect(batch.count('create')).toBe(1);
    expect(batch.jobs).toHaveLength(1);
    expect(generateCalls()).toBe(0);
    expect(run.stdout).toContain(`${batchId}: still running at Gemini`);
    // The four images are the job's: the plan leaves them to it and has nothing to do.
    expect(run.stdout).toMatch(/4 image\(s\) are waiting in Batch API jobs/);
    expect(run.outputs).toMatchObject({ total: '0', successful: '0', failed: '0' });
    expect(run.outputs['batch-id']).toBeUndefined();
    // The job summary says where the images are, not only that nothing was generated.
    expect(run.summary).toContain(`Waiting in Batch API jobs, collected next time: ${batchId}`);

    // Nothing new on the branch, no PR, no new batch claimed or uploaded.
    expect(await tipOf(BRANCH)).toBe(night1Tip);
    expect((await remote.filesAt(BRANCH)).filter((f) => f.startsWith(PROGRESS_DIR))).toEqual([
      `${PROGRESS_DIR}${batchId}.json`,
    ]);
    expect(github.pulls).toEqual([]);
    expect(artifacts.artifacts.length).toBe(artifactsBefore);
  });

  test('night 3, the job done: collects, commits the images, opens the PR, uploads the reports, submits nothing', async () => {
    expect(batchId).not.toBe('');
    // Three results come back fine; the scene fails inside the job with a retryable error and is
    // generated synchronously.
    batch.setOutcome((request) =>
      request.key === `${CASE}/scene`
        ? { kind: 'error', code: 13, message: 'Internal error encountered.' }
        : undefined,
    );
    await batch.advanceAll('succeeded');
    const run = await night(5003);
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain('::error');

    // Nothing left to do: no new job; only the scene went to generateContent.
    expect(batch.count('create')).toBe(1);
    expect(batch.jobs).toHaveLength(1);
    expect(generateCalls()).toBe(1);
    expect(run.stdout).toMatch(/PROGRESS: 3\/4 \(75%\) - .* complete \(batch\)/);

    // The images on the branch, on top of night 1's commit, with batch prices for the batch's.
    const files = await remote.filesAt(BRANCH);
    for (const image of IMAGES) expect(files).toContain(`cases/${CASE}/images/${image}.png`);
    expect(files).toContain(`cases/${CASE}/images/manifest.json`);
    expect((await remote.log(BRANCH)).slice(1)).toEqual([
      `lineup: images for ${CASE} (${batchId})`,
      'sample cases',
      'initial',
    ]);
    expect(await remote.log(BRANCH)).toHaveLength(4);
    const manifest = JSON.parse(await remote.show(BRANCH, `cases/${CASE}/images/manifest.json`));
    expect(Object.keys(manifest.images).sort()).toEqual(IMAGES);
    for (const id of ['suspect-1', 'suspect-2', 'suspect-3']) {
      expect(manifest.images[id]).toMatchObject({
        provider: 'gemini',
        batchId,
        mode: 'batch',
        costUsd: 0.0168,
        review: { status: 'pending' },
      });
    }
    expect(manifest.images.scene).toMatchObject({ batchId, mode: 'sync', costUsd: 0.0336 });
    const progress = await progressOnBranch(batchId);
    expect(progress).toMatchObject({ batchId, status: 'completed', mode: 'batch', pending: [] });
    expect((progress.completed as unknown[]).length).toBe(4);
    const tip = await tipOf(BRANCH);
    expect(tip).not.toBe(night1Tip);

    // One PR with the gallery pinned to the pushed commit, saying which images came from batch mode.
    expect(github.pulls).toHaveLength(1);
    const pr = github.pulls[0];
    expect(pr).toMatchObject({ head: BRANCH, base: 'main', title: `Images for ${CASE}`, state: 'open' });
    expect(pr?.labels.sort()).toEqual(['images', 'lineup']);
    expect(pr?.body).toContain('<!-- lineup:gallery -->');
    for (const image of IMAGES) {
      expect(pr?.body).toContain(`/blob/${tip}/cases/${CASE}/images/${image}.png?raw=true`);
    }
    // Each image's row of the gallery table says how it was made and what it cost: the three the
    // job returned are batch-mode at the batch price, the scene (retried synchronously) is not.
    for (const id of ['suspect-1', 'suspect-2', 'suspect-3']) {
      expect(galleryRow(pr?.body ?? '', id)).toMatchObject({
        Id: id,
        Model: 'gemini-nano-banana-2.1 (batch)',
        // The estimate, and beside it the reply's tokens at the published prices.
        Cost: '$0.0168 (actual $0.0175)',
      });
    }
    expect(galleryRow(pr?.body ?? '', 'scene')).toMatchObject({
      Id: 'scene',
      Model: 'gemini-nano-banana-2.1 (sync)',
      Cost: '$0.0336 (actual $0.035)',
    });

    // The collected batch's reports, as their own artifact.
    const artifact = artifacts.artifacts.find((a) => a.name === `lineup-report-${CASE}-${batchId}`);
    expect(artifact?.finalized).toBe(true);
    const entries = unzip(artifact?.zip ?? Buffer.alloc(0));
    expect(entries.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        `reports/errors/${batchId}.json`,
        `reports/logs/${batchId}.log`,
        'reports/stats.csv',
      ]),
    );
    const report = JSON.parse(
      entries.find((e) => e.name === `reports/errors/${batchId}.json`)?.data.toString() ?? '{}',
    );
    expect(report).toMatchObject({
      mode: 'batch',
      summary: { total: 4, successful: 4, failed: 0, pending: 0 },
    });
    const stats = entries.find((e) => e.name === 'reports/stats.csv')?.data.toString() ?? '';
    expect(stats).toContain(batchId);

    // The step's outputs describe the batch it collected.
    expect(run.outputs).toMatchObject({
      'batch-id': batchId,
      total: '4',
      successful: '4',
      failed: '0',
      branch: BRANCH,
      'pull-request-url': `https://github.com/${OWNER}/${REPO_NAME}/pull/1`,
    });
    expect(Number(run.outputs.cost)).toBeCloseTo(3 * 0.0168 + 0.0336, 6);
    expect(run.summary).toContain(`/blob/${tip}/cases/${CASE}/images/scene.png?raw=true`);
    // The empty plan after the collection neither resets those outputs nor contradicts the summary.
    expect(run.stdout).toContain('Nothing new to generate after collecting 1 batch(es)');
    expect(run.summary).not.toContain('Nothing to generate');
  });

  test('the API key appears nowhere: output, files, commits, PRs, artifacts', async () => {
    expect(runs).toHaveLength(3);
    for (const run of runs) expect(leakedLines(run.stdout, TOKEN)).toEqual([]);
    // It was used, in the header only.
    expect(gemini.requests.some((r) => r.apiKey === key)).toBe(true);
    // Nor is it in anything sent to the Batch API as data.
    for (const job of batch.jobs) expect(JSON.stringify(job)).not.toContain(key);
    await expectSecretNowhere(key, { runs, dirs: [...clones, remote.bare], github, artifacts });
    expect(await repoText(remote.bare)).not.toContain(TOKEN);
  });
});
