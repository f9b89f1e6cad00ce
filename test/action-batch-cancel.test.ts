import { describe, expect, test } from 'vitest';
import {
  cancelLikeARunner,
  checkout,
  nightlyInputs,
  runAction,
  runnerEnv,
  secretKey,
  startAction,
} from './support/action-env.ts';
import { expectSecretNowhere, useActionWorld } from './support/action-world.ts';
import type { FakeArtifactService } from './support/fake-artifact.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGeminiBatch } from './support/fake-gemini-batch.ts';
import type { FakeGitHub } from './support/fake-github.ts';
import type { GitRemote } from './support/git-remote.ts';

/**
 * The nightly step cancelled while it collects: night 1 submits a Batch API job, the job expires
 * at Gemini, and night 2 generates its images synchronously (the fallback for dead jobs) until a
 * runner cancels it. The bundled action runs as a child process; every wait is for an event.
 */

const CASE = 'case-2025-01-19';
const BRANCH = `images/${CASE}`;
const TOKEN = 'ghs_batchcanceltoken0123456789abcdef';

let gemini: FakeGemini;
let batch: FakeGeminiBatch;
let github: FakeGitHub;
let artifacts: FakeArtifactService;
let remote: GitRemote;
const key = secretKey();
/** Every checkout a night ran in, searched for the key at the end. */
const clones: string[] = [];

useActionWorld({ token: TOKEN, batch: true, artifacts: true }, (w) => {
  ({ gemini, batch, github, artifacts, remote } = w);
});

/** The nightly step's options for one night: a fresh checkout of main and its own run id. */
async function nightly(runId: number) {
  const cwd = await checkout(remote);
  clones.push(cwd);
  return {
    cwd,
    inputs: nightlyInputs({ 'case-id': CASE }, { key, token: TOKEN }),
    env: runnerEnv({ github, gemini, artifacts }, { event: 'schedule', runId }),
  };
}

describe('batch-generate with mode: batch, cancelled while collecting', () => {
  test('a cancel during the synchronous fallback of an expired job pushes what was made; nothing new is submitted', async () => {
    const night1 = await runAction('batch-generate', await nightly(101));
    expect(night1.code, night1.stdout + night1.stderr).toBe(0);
    const batchId = night1.outputs['batch-id'] ?? '';
    expect(batch.count('create')).toBe(1);
    await batch.advanceAll('expired');

    // The fallback's first request answers at once; the others would answer long after the test.
    let seen = 0;
    gemini.setHandler(() => (seen++ < 1 ? undefined : { kind: 'image', latencyMs: 120_000 }));
    const before = gemini.requests.length;
    const child = await startAction('batch-generate', await nightly(102));
    await child.waitForOutput(/PROGRESS: 1\/4/);
    await gemini.waitForRequests(before + 2);
    await cancelLikeARunner(child);
    const run = await child.done;

    // Ended by itself before the runner's SIGTERM, as stopped early.
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('SIGTERM received');
    expect(run.stdout).toMatch(/ABANDONED: \S+: the request in flight was given up/);
    expect(run.stdout).toContain('::warning title=lineup batch stopped early::');

    // The image that answered is on the branch, the rest pending in the batch's progress file.
    const manifest = JSON.parse(await remote.show(BRANCH, `cases/${CASE}/images/manifest.json`));
    expect(Object.keys(manifest.images)).toHaveLength(1);
    const progress = JSON.parse(await remote.show(BRANCH, `reports/progress/${batchId}.json`));
    expect(progress).toMatchObject({ status: 'stopped', stopReason: 'cancelled (SIGINT)' });
    expect(progress.completed).toHaveLength(1);
    expect(progress.pending).toHaveLength(3);
    // No second Batch API job: a cancelled night plans nothing new, and says how to go on.
    expect(run.stdout).toContain(
      '::warning title=lineup batch stopped early::Stopped before planning new images (cancelled (SIGINT)); run the same workflow again to go on.',
    );
    expect(batch.count('create')).toBe(1);
    gemini.setHandler(undefined);
    await expectSecretNowhere(key, {
      runs: [night1, run],
      dirs: [...clones, remote.bare],
      github,
      artifacts,
    });
  }, 60_000);
});
