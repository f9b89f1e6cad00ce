import { describe, expect, test } from 'vitest';
import {
  cancelLikeARunner,
  checkout,
  runnerEnv,
  type StartedAction,
  secretKey,
  startAction,
} from './support/action-env.ts';
import { useFreshWorlds } from './support/action-world.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGitHub } from './support/fake-github.ts';
import type { GitRemote } from './support/git-remote.ts';

/**
 * The bundled batch-generate action, ended the ways a runner ends it: a cancel (SIGINT, SIGTERM
 * 7.5 s later, the kill 2.5 s after that), a lost runner (SIGKILL), and the job's deadline.
 * Latencies are the fake Gemini's, checkpoint and deadline times are fractions of a minute, and
 * every wait is for an event: a request reaching the fake, a line of the action's output.
 */

const CASE = 'case-2025-01-19';
const BRANCH = `images/${CASE}`;
const TOKEN = 'ghs_testtoken0123456789abcdef';
/** A request that would answer long after every test is over: the one a cancel must give up. */
const SLOW_MS = 120_000;

let gemini: FakeGemini;
const key = secretKey();
const freshWorld = useFreshWorlds(TOKEN, (fake) => {
  gemini = fake;
});

function world(): Promise<{ remote: GitRemote; github: FakeGitHub }> {
  return freshWorld();
}

async function start(
  w: { remote: GitRemote; github: FakeGitHub },
  inputs: Record<string, string>,
): Promise<StartedAction> {
  const cwd = await checkout(w.remote);
  return startAction('batch-generate', {
    cwd,
    inputs: {
      'github-token': TOKEN,
      'gemini-api-key': key,
      'case-id': CASE,
      commit: 'true',
      'open-pr': 'true',
      ...inputs,
    },
    env: runnerEnv({ github: w.github, gemini }, { event: 'workflow_dispatch' }),
  });
}

/** The first `fast` requests answer at once, later ones take SLOW_MS (or `slowMs`). */
function answerFastThenSlow(fast: number, slowMs = SLOW_MS): void {
  let seen = 0;
  gemini.setHandler(() => (seen++ < fast ? undefined : { kind: 'image', latencyMs: slowMs }));
}

async function progressOnRemote(remote: GitRemote, batchId: string) {
  return JSON.parse(await remote.show(BRANCH, `reports/progress/${batchId}.json`));
}

async function manifestOnRemote(remote: GitRemote): Promise<Record<string, { batchId: string }>> {
  return JSON.parse(await remote.show(BRANCH, `cases/${CASE}/images/manifest.json`)).images;
}

/** Image ids the log says were saved, in order. */
function savedIds(stdout: string): string[] {
  return [...stdout.matchAll(/PROGRESS: \d+\/\d+ \(\d+%\) - (\S+) complete/g)].map((m) => m[1] ?? '');
}

describe('batch-generate as a runner ends it', () => {
  test('cancel (SIGINT, SIGTERM at +7.5 s, kill at +10 s) with a slow request in flight: every image answered before the cancel is on the remote', async () => {
    const w = await world();
    answerFastThenSlow(2);
    const before = gemini.requests.length;
    // Default checkpoints (10 images, 5 min): nothing is pushed before the cancel.
    const child = await start(w, {});
    await child.waitForOutput(/PROGRESS: 2\/4/);
    await gemini.waitForRequests(before + 3);
    expect(await w.remote.filesAt(BRANCH)).toEqual([]);

    await cancelLikeARunner(child);
    const run = await child.done;
    expect(run.stderr).toBe('');
    // Exited by itself, before the runner's SIGTERM (the in-flight window is 5 s).
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain('SIGTERM received');

    const answered = savedIds(run.stdout);
    expect(answered).toHaveLength(2);
    const batchId = run.outputs['batch-id'] ?? '';
    const manifest = await manifestOnRemote(w.remote);
    expect(Object.keys(manifest).sort()).toEqual([...answered].sort());
    for (const id of answered) {
      expect(await w.remote.filesAt(BRANCH)).toContain(`cases/${CASE}/images/${id}.png`);
    }
    const progress = await progressOnRemote(w.remote, batchId);
    expect(progress).toMatchObject({ status: 'stopped', stopReason: 'cancelled (SIGINT)' });
    expect(progress.completed).toHaveLength(2);
    expect(progress.pending).toHaveLength(2);
    expect(gemini.requests.length - before).toBe(3);

    // The request in flight was given up, and the log says so; the push came within 5 s.
    expect(run.stdout).toMatch(/ABANDONED: \S+: the request in flight was given up/);
    const measured =
      /Cancel: what had answered before SIGINT is on images\/\S+ at \w+, (\d+) ms after the signal/.exec(
        run.stdout,
      );
    expect(measured, run.stdout).not.toBeNull();
    expect(Number(measured?.[1])).toBeLessThan(5_000);

    // Cancelled = stopped early: a warning, the PR and the job summary brought up to date.
    expect(run.outputs['exit-code']).toBe('3');
    expect(run.stdout).toContain('::warning title=lineup batch stopped early::');
    expect(run.summary).toMatch(/cancelled \\?\(SIGINT\\?\)/);
    if (process.env.LINEUP_SHOW_CANCEL) console.info(measured?.[0]);
    expect(run.summary).toContain(`resume: ${batchId}`);
    expect(w.github.pulls).toHaveLength(1);
    expect(w.github.pulls[0]?.body).toContain(`${answered[0]}.png?raw=true`);
  }, 30_000);

  test('cancel while a request is in flight that answers within the window: it is saved and pushed too, nothing new starts', async () => {
    const w = await world();
    answerFastThenSlow(1, 1_500);
    const before = gemini.requests.length;
    const child = await start(w, {});
    await child.waitForOutput(/PROGRESS: 1\/4/);
    await gemini.waitForRequests(before + 2);
    await cancelLikeARunner(child);
    const run = await child.done;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).not.toContain('ABANDONED');
    expect(gemini.requests.length - before).toBe(2);
    const answered = savedIds(run.stdout);
    expect(answered).toHaveLength(2);
    expect(Object.keys(await manifestOnRemote(w.remote)).sort()).toEqual([...answered].sort());
    const progress = await progressOnRemote(w.remote, run.outputs['batch-id'] ?? '');
    expect(progress).toMatchObject({ status: 'stopped', stopReason: 'cancelled (SIGINT)' });
    expect(progress.pending).toHaveLength(2);
  }, 30_000);

  test('SIGKILL mid-run: the remote holds the last checkpoint, and a rerun finishes the case without asking for those again', async () => {
    const w = await world();
    answerFastThenSlow(2);
    const before = gemini.requests.length;
    const child = await start(w, { 'checkpoint-images': '2', 'checkpoint-minutes': '0' });
    const checkpoint = await child.waitForOutput(/Checkpoint \(.*\): pushed \w+ to images\//);
    expect(checkpoint).toContain('opened pull request #1');
    await gemini.waitForRequests(before + 3);
    child.kill('SIGKILL');
    const killed = await child.done;
    expect(killed.code).toBe(-1);

    const answered = savedIds(killed.stdout);
    expect(answered).toHaveLength(2);
    const manifest = await manifestOnRemote(w.remote);
    expect(Object.keys(manifest).sort()).toEqual([...answered].sort());
    const firstPrompts = gemini.requests.slice(before, before + 2).map((r) => r.prompt);
    // The PR was opened at the checkpoint, so a reviewer could start.
    expect(w.github.pulls).toHaveLength(1);

    gemini.setHandler(undefined);
    const again = before + 3;
    const rerun = await (await start(w, {})).done;
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(rerun.outputs).toMatchObject({ total: '2', successful: '2', 'exit-code': '0' });
    const asked = gemini.requests.slice(again).map((r) => r.prompt);
    expect(asked).toHaveLength(2);
    for (const p of asked) expect(firstPrompts).not.toContain(p);
    const all = await manifestOnRemote(w.remote);
    expect(Object.keys(all).sort()).toEqual(['scene', 'suspect-1', 'suspect-2', 'suspect-3']);
    // The checkpointed images are the killed run's, untouched.
    for (const id of answered) expect(all[id]?.batchId).toBe(manifest[id]?.batchId);
    expect(w.github.pulls).toHaveLength(1);
  }, 30_000);

  test('checkpoint-minutes alone (a fraction of a minute): what is saved goes out while a request is still in flight', async () => {
    const w = await world();
    answerFastThenSlow(1);
    const before = gemini.requests.length;
    const child = await start(w, { 'checkpoint-images': '0', 'checkpoint-minutes': '0.005' });
    const line = await child.waitForOutput(/Checkpoint \(0\.01 min since the last checkpoint\): pushed/);
    expect(line).toContain(`to ${BRANCH}`);
    await gemini.waitForRequests(before + 2);
    child.kill('SIGKILL');
    const killed = await child.done;
    const answered = savedIds(killed.stdout);
    expect(answered).toHaveLength(1);
    expect(Object.keys(await manifestOnRemote(w.remote))).toEqual(answered);
  }, 30_000);

  test('deadline-minutes: no new request after it, the one in flight finishes, pushed, exit 3, and the next run goes on', async () => {
    const w = await world();
    gemini.setHandler(() => ({ kind: 'image', latencyMs: 2_500 }));
    const before = gemini.requests.length;
    // 6 s (room for a slow start on a busy machine): four images at 2.5 s each cannot all be made.
    const run = await (await start(w, { 'deadline-minutes': '0.1' })).done;
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['exit-code']).toBe('3');
    expect(run.stdout).toContain('deadline-minutes reached');
    expect(run.stdout).not.toContain('ABANDONED');
    expect(run.stdout).toMatch(/::warning title=lineup batch stopped early::.*resume: batch-/);

    // Every request started was waited for and saved; the rest is pending on the remote.
    const requested = gemini.requests.length - before;
    expect(requested).toBeGreaterThan(0);
    const batchId = run.outputs['batch-id'] ?? '';
    const progress = await progressOnRemote(w.remote, batchId);
    expect(progress).toMatchObject({ status: 'stopped', stopReason: 'deadline-minutes reached' });
    expect(progress.completed).toHaveLength(requested);
    expect(progress.pending).toHaveLength(4 - requested);
    expect(Object.keys(await manifestOnRemote(w.remote))).toHaveLength(requested);

    gemini.setHandler(undefined);
    const again = gemini.requests.length;
    const rerun = await (await start(w, {})).done;
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(gemini.requests.length - again).toBe(4 - requested);
    expect(Object.keys(await manifestOnRemote(w.remote))).toHaveLength(4);
  }, 30_000);
});
