import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type ActionRun,
  cancelLikeARunner,
  checkout,
  OWNER,
  REPO_NAME,
  runAction,
  runnerEnv,
  type StartedAction,
  secretKey,
  startAction,
} from './support/action-env.ts';
import { expectSecretNowhere, useActionWorld } from './support/action-world.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import type { FakeGitHub } from './support/fake-github.ts';
import { type GitRemote, git } from './support/git-remote.ts';

const CASE = 'case-2025-01-19';
const BRANCH = `images/${CASE}`;
const TOKEN = 'ghs_reviewtoken0123456789abcdef';
const MANIFEST = `cases/${CASE}/images/manifest.json`;

let gemini: FakeGemini;
let github: FakeGitHub;
let remote: GitRemote;
let eventsDir: string;
const key = secretKey();
const runs: ActionRun[] = [];
let prNumber = 0;

function env(eventName: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return runnerEnv({ github, gemini }, { event: eventName, ref: null, extra });
}

useActionWorld({ token: TOKEN }, (w) => {
  ({ gemini, github, remote } = w);
});

beforeAll(async () => {
  eventsDir = await mkdtemp(join(tmpdir(), 'lineup-events-'));
  github.setPermission(OWNER, REPO_NAME, 'alice', 'write');
  github.setPermission(OWNER, REPO_NAME, 'bob', 'read');
  // The PR under review, made the way the workflows make it.
  const run = await runAction('batch-generate', {
    cwd: await checkout(remote),
    inputs: {
      'case-id': CASE,
      commit: 'true',
      'open-pr': 'true',
      'github-token': TOKEN,
      'gemini-api-key': key,
    },
    env: { ...env('workflow_dispatch'), GITHUB_REF: 'refs/heads/main' },
  });
  runs.push(run);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  prNumber = github.pulls[0]?.number ?? 0;
  expect(prNumber).toBe(1);
}, 60_000);

afterAll(async () => {
  if (eventsDir) await rm(eventsDir, { recursive: true, force: true });
});

/** Starts review-images for an event, in a fresh checkout of the PR branch, as the workflow does. */
async function startReview(
  eventName: string,
  payload: unknown,
  extraEnv: Record<string, string> = {},
): Promise<StartedAction> {
  const eventPath = join(eventsDir, `${randomUUID()}.json`);
  await writeFile(eventPath, JSON.stringify(payload));
  return startAction('review-images', {
    cwd: await checkout(remote, BRANCH),
    inputs: { 'event-path': eventPath, 'github-token': TOKEN, 'gemini-api-key': key },
    env: env(eventName, extraEnv),
  });
}

/** Runs review-images for an event to its end. */
async function review(
  eventName: string,
  payload: unknown,
  extraEnv: Record<string, string> = {},
): Promise<ActionRun> {
  const run = await (await startReview(eventName, payload, extraEnv)).done;
  runs.push(run);
  return run;
}

/** A review as GitHub sends it: `commit_id` is the commit the reviewer looked at (the tip unless given). */
async function reviewEvent(state: string, user: string, id: number, commitId?: string) {
  return {
    action: 'submitted',
    review: {
      id,
      state,
      body: '',
      commit_id: commitId ?? (await tip()),
      user: { login: user },
      submitted_at: '2026-11-29T10:00:00Z',
    },
    pull_request: { number: prNumber, head: { ref: BRANCH, repo: { full_name: `${OWNER}/${REPO_NAME}` } } },
    repository: { full_name: `${OWNER}/${REPO_NAME}`, default_branch: 'main' },
  };
}

function commentEvent(user: string, body: string) {
  return {
    action: 'created',
    issue: { number: prNumber, pull_request: { url: 'x' } },
    comment: { id: 42, body, user: { login: user, type: 'User' }, created_at: '2026-11-29T11:00:00Z' },
    repository: { full_name: `${OWNER}/${REPO_NAME}`, default_branch: 'main' },
  };
}

async function branchManifest() {
  return JSON.parse(await remote.show(BRANCH, MANIFEST)) as {
    images: Record<string, { sha256: string; batchId: string; review: Record<string, unknown> }>;
  };
}

const tip = () => git(remote.bare, ['rev-parse', BRANCH]);

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Stands between the action and the fake GitHub to stage "the reviewer merged while lineup was
 * working": the PR is merged (closed, `merged: true`) as the `mergeOnGet`-th GET of it arrives, so
 * the run's first look finds it open and a later one finds it merged. Everything else passes through.
 */
async function startMergingProxy(
  mergeOnGet: number,
): Promise<{ url: string; gets: number; close(): Promise<void> }> {
  const state = { gets: 0 };
  const server: Server = createServer(async (req, res) => {
    const body = await readAll(req);
    const isPull = req.method === 'GET' && req.url === `/repos/${OWNER}/${REPO_NAME}/pulls/${prNumber}`;
    if (isPull && ++state.gets === mergeOnGet) {
      const pull = github.pulls.find((p) => p.number === prNumber);
      if (pull) pull.state = 'closed';
    }
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type', 'accept', 'user-agent']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const answer = await fetch(`${github.url}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length ? { body: body.toString('utf8') } : {}),
    });
    let text = await answer.text();
    if (isPull && state.gets >= mergeOnGet) {
      text = JSON.stringify({ ...JSON.parse(text), merged: true, merged_at: '2026-11-29T12:00:00Z' });
    }
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get gets() {
      return state.gets;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reopens the PR after a test that merged or closed it, so the tests after it see it open again. */
function reopen(): void {
  const pull = github.pulls.find((p) => p.number === prNumber);
  if (pull) pull.state = 'open';
}

describe('review-images, run as a runner runs it', () => {
  test('changes requested with a comment on suspect-2.png: only suspect-2 is regenerated, with the feedback', async () => {
    const before = await branchManifest();
    const requests = gemini.requests.length;
    github.addReviewComment({
      pullNumber: prNumber,
      reviewId: 501,
      path: `cases/${CASE}/images/suspect-2.png`,
      body: 'Make the coat dark green and add round glasses.',
      user: 'alice',
    });
    // A comment on another PR's review must not count.
    github.addReviewComment({
      pullNumber: prNumber,
      reviewId: 999,
      path: `cases/${CASE}/images/scene.png`,
      body: 'x',
      user: 'alice',
    });
    const run = await review('pull_request_review', await reviewEvent('changes_requested', 'alice', 501));
    expect(run.code, run.stdout + run.stderr).toBe(0);

    expect(gemini.requests.length - requests).toBe(1);
    const last = gemini.requests.at(-1);
    expect(last?.prompt).toContain('Make the coat dark green and add round glasses.');
    expect(last?.aspectRatio).not.toBe('16:9');

    const after = await branchManifest();
    expect(after.images['suspect-2']?.sha256).not.toBe(before.images['suspect-2']?.sha256);
    expect(after.images['suspect-2']?.review).toMatchObject({
      status: 'pending',
      feedback: 'Make the coat dark green and add round glasses.',
    });
    for (const id of ['suspect-1', 'suspect-3', 'scene']) expect(after.images[id]).toEqual(before.images[id]);
    expect((await remote.log(BRANCH))[0]).toMatch(/^lineup: regenerated 1 image\(s\) for #1 /);

    // The PR body shows the new commit; a reply says what happened.
    expect(github.pulls[0]?.body).toContain(`/blob/${await tip()}/`);
    expect(github.pulls[0]?.body).toContain('Reviewer feedback: Make the coat dark green');
    expect(github.issueComments.at(-1)?.body).toContain(`Regenerated for @alice: \`${CASE}/suspect-2\``);
  });

  test('/regenerate from a read-only user: refused with a reply, nothing regenerated or pushed', async () => {
    const requests = gemini.requests.length;
    const head = await tip();
    const comments = github.issueComments.length;
    const run = await review('issue_comment', commentEvent('bob', '/regenerate suspect-2 make it blue'));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(gemini.requests.length).toBe(requests);
    expect(await tip()).toBe(head);
    expect(github.issueComments).toHaveLength(comments + 1);
    expect(github.issueComments.at(-1)?.body).toMatch(/^@bob only people with write access/);
  });

  test('a /regenerate comment crafted as shell is plain text in the prompt, and nothing runs', async () => {
    const marker = join(tmpdir(), `pwned-${randomUUID()}`);
    const feedback = `$(touch ${marker}) \`touch ${marker}\` "double" 'single'; touch ${marker} && echo $HOME | cat`;
    const requests = gemini.requests.length;
    const run = await review('issue_comment', commentEvent('alice', `/regenerate suspect-1 ${feedback}`));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(gemini.requests.length - requests).toBe(1);
    expect(gemini.requests.at(-1)?.prompt).toContain(feedback);
    expect(existsSync(marker)).toBe(false);
    const manifest = await branchManifest();
    expect(manifest.images['suspect-1']?.review.feedback).toBe(feedback);
    // The PR body shows it inert: escaped, not as markdown or HTML.
    expect(github.pulls[0]?.body).toContain('Reviewer feedback: $\\(touch');
  });

  test('/regenerate of an image the case does not have: a reply, nothing generated', async () => {
    const requests = gemini.requests.length;
    const run = await review('issue_comment', commentEvent('alice', '/regenerate suspect-9 anything'));
    expect(run.code).toBe(0);
    expect(gemini.requests.length).toBe(requests);
    expect(github.issueComments.at(-1)?.body).toContain('has no `suspect-9`');
  });

  test('an approval by a read-only user changes nothing', async () => {
    const head = await tip();
    const run = await review('pull_request_review', await reviewEvent('approved', 'bob', 601));
    expect(run.code).toBe(0);
    expect(await tip()).toBe(head);
    expect(github.issueComments.at(-1)?.body).toMatch(/^@bob only people with write access/);
  });

  test('an approval the reviewer merged ahead of: the state is checked again before the push; nothing pushed, a reply says what to do', async () => {
    const head = await tip();
    const before = await branchManifest();
    expect(Object.values(before.images).some((e) => e.review.status === 'pending')).toBe(true);
    const comments = github.issueComments.length;
    // The first GET (the run's start) sees it open; the second (right before the push) sees it merged.
    const proxy = await startMergingProxy(2);
    try {
      const run = await review('pull_request_review', await reviewEvent('approved', 'alice', 651), {
        GITHUB_API_URL: proxy.url,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(proxy.gets).toBe(2);
      expect(run.stdout).toContain(
        '::warning title=Not recorded::The approval was not recorded: #1 is merged.',
      );
    } finally {
      await proxy.close();
      reopen();
    }
    expect(await tip()).toBe(head);
    expect(await branchManifest()).toEqual(before);
    expect(github.issueComments).toHaveLength(comments + 1);
    const body = github.issueComments.at(-1)?.body ?? '';
    expect(body).toMatch(
      /^@alice your approval was not recorded: #1 was merged before lineup could push it to the branch, so nothing was pushed\./,
    );
    expect(body).toContain('stay `pending` on the default branch');
    expect(body).toContain("approve first and merge only after lineup's reply");
  });

  test('a regeneration the reviewer merged ahead of: generated, but not pushed; the reply says so', async () => {
    const head = await tip();
    const requests = gemini.requests.length;
    const proxy = await startMergingProxy(2);
    try {
      const run = await review('issue_comment', commentEvent('alice', '/regenerate suspect-1 a red scarf'), {
        GITHUB_API_URL: proxy.url,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(proxy.gets).toBe(2);
    } finally {
      await proxy.close();
      reopen();
    }
    expect(gemini.requests.length - requests).toBe(1);
    expect(await tip()).toBe(head);
    const body = github.issueComments.at(-1)?.body ?? '';
    expect(body).toMatch(
      /^@alice the regeneration was not recorded: #1 was merged before lineup could push it/,
    );
    expect(body).toContain('*Generate images* workflow');
  });

  test('a PR closed before the run starts: a writer is told to reopen it, nothing is generated or pushed', async () => {
    const head = await tip();
    const requests = gemini.requests.length;
    const pull = github.pulls.find((p) => p.number === prNumber);
    if (pull) pull.state = 'closed';
    try {
      const approval = await review('pull_request_review', await reviewEvent('approved', 'alice', 661));
      expect(approval.code, approval.stdout + approval.stderr).toBe(0);
      expect(github.issueComments.at(-1)?.body).toBe(
        '@alice your approval was not recorded: #1 was closed before lineup could push it to the branch, so nothing was pushed. Reopen the pull request and approve it again.',
      );
      const regen = await review('issue_comment', commentEvent('alice', '/regenerate suspect-1 anything'));
      expect(regen.code).toBe(0);
      expect(github.issueComments.at(-1)?.body).toContain(
        'Reopen the pull request and repeat the `/regenerate` command.',
      );
      // A reader is refused as on an open PR, not told about the PR's state.
      await review('issue_comment', commentEvent('bob', '/regenerate suspect-1 anything'));
      expect(github.issueComments.at(-1)?.body).toMatch(/^@bob only people with write access/);
    } finally {
      reopen();
    }
    expect(gemini.requests.length).toBe(requests);
    expect(await tip()).toBe(head);
  });

  test('a regeneration claims a batch id scoped to the run and the PR, so two PRs on one day never share one', async () => {
    const scope = 'review-987654321-2-pr1';
    const n = 10_000 + (createHash('sha256').update(scope).digest().readUInt32BE(0) % 90_000);
    const run = await review('issue_comment', commentEvent('alice', '/regenerate scene warmer light'), {
      GITHUB_RUN_ID: '987654321',
      GITHUB_RUN_ATTEMPT: '2',
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const batchId = run.outputs['batch-id'] ?? '';
    expect(batchId).toMatch(new RegExp(`^batch-\\d{4}-\\d{2}-\\d{2}-${n}$`));
    expect((await remote.log(BRANCH))[0]).toContain(`(${batchId})`);
    expect(JSON.parse(await remote.show(BRANCH, `reports/progress/${batchId}.json`))).toMatchObject({
      batchId,
    });
  });

  test('a cancel mid-regeneration (SIGINT, SIGTERM at +7.5 s, kill at +10 s): what was made is pushed, the reply names what is left', async () => {
    const before = await branchManifest();
    const requests = gemini.requests.length;
    // The first request answers at once; the other would answer long after the test.
    let seen = 0;
    gemini.setHandler(() => (seen++ < 1 ? undefined : { kind: 'image', latencyMs: 120_000 }));
    try {
      const child = await startReview(
        'issue_comment',
        commentEvent('alice', '/regenerate suspect-1 a grey scarf\n/regenerate suspect-3 a green hat'),
      );
      await child.waitForOutput(/PROGRESS: 1\/2/);
      await gemini.waitForRequests(requests + 2);
      await cancelLikeARunner(child);
      const run = await child.done;
      runs.push(run);
      // Ended by itself within the in-flight window, before the runner's SIGTERM.
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).not.toContain('SIGTERM received');
      expect(run.stdout).toMatch(/ABANDONED: \S+: the request in flight was given up/);
      expect(run.stdout).toContain('::warning::Stopped early: cancelled (SIGINT)');

      // The image that answered is on the PR branch; the other is as it was.
      const after = await branchManifest();
      const made = ['suspect-1', 'suspect-3'].filter(
        (id) => after.images[id]?.sha256 !== before.images[id]?.sha256,
      );
      expect(made).toHaveLength(1);
      const left = made[0] === 'suspect-1' ? 'suspect-3' : 'suspect-1';
      expect(after.images[left]).toEqual(before.images[left]);
      expect((await remote.log(BRANCH))[0]).toMatch(/^lineup: regenerated 1 image\(s\) for #1 /);
      expect(github.issueComments.at(-1)?.body).toContain(
        `Stopped early (cancelled (SIGINT)) before \`${CASE}/${left}\`; comment \`/regenerate\` again for it.`,
      );
      expect(gemini.requests.length - requests).toBe(2);
    } finally {
      gemini.setHandler(undefined);
    }
  }, 30_000);

  test('approve: every image of the PR approved in the manifest (by, at, PR number), committed to the branch', async () => {
    const run = await review('pull_request_review', await reviewEvent('approved', 'alice', 701));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const manifest = await branchManifest();
    for (const id of ['suspect-1', 'suspect-2', 'suspect-3', 'scene']) {
      expect(manifest.images[id]?.review).toEqual({
        status: 'approved',
        by: 'alice',
        at: '2026-11-29T10:00:00Z',
        pullRequest: prNumber,
        feedback: null,
      });
    }
    expect((await remote.log(BRANCH))[0]).toBe(`lineup: 4 image(s) approved by @alice in #${prNumber}`);
    // The reply is what tells the reviewer that merging is now safe.
    expect(github.issueComments.at(-1)?.body).toBe(
      `@alice approved 4 image(s); recorded at ${(await tip()).slice(0, 12)}. The approval is on the branch: this pull request can be merged now.`,
    );
    expect(github.pulls[0]?.body).toContain('✅ approved');
    expect(github.pulls[0]?.body).not.toContain('⏳ pending');
    // Approving again is a no-op, not a second commit.
    const head = await tip();
    const again = await review('pull_request_review', await reviewEvent('approved', 'alice', 702));
    expect(again.code).toBe(0);
    expect(await tip()).toBe(head);
  });

  test('approve of an older commit: images regenerated after the review stay pending, and the reply names them', async () => {
    // Everything is approved now. Two regenerations: suspect-2 before the review, suspect-3 after it.
    expect(
      (await review('issue_comment', commentEvent('alice', '/regenerate suspect-2 softer light'))).code,
    ).toBe(0);
    const reviewed = await tip();
    const atReview = await branchManifest();
    expect(
      (await review('issue_comment', commentEvent('alice', '/regenerate suspect-3 add a hat'))).code,
    ).toBe(0);
    const before = await branchManifest();
    expect(before.images['suspect-3']?.sha256).not.toBe(atReview.images['suspect-3']?.sha256);
    expect(before.images['suspect-2']?.review.status).toBe('pending');
    expect(before.images['suspect-3']?.review.status).toBe('pending');

    const run = await review('pull_request_review', await reviewEvent('approved', 'alice', 901, reviewed));
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const after = await branchManifest();
    // suspect-2 is what the reviewer saw: approved. suspect-3 changed after the review: still pending.
    expect(after.images['suspect-2']?.review).toMatchObject({ status: 'approved', by: 'alice' });
    expect(after.images['suspect-3']?.review.status).toBe('pending');
    expect(after.images['suspect-3']?.sha256).toBe(before.images['suspect-3']?.sha256);
    for (const id of ['suspect-1', 'scene']) expect(after.images[id]).toEqual(before.images[id]);
    expect((await remote.log(BRANCH))[0]).toBe(`lineup: 1 image(s) approved by @alice in #${prNumber}`);
    const replyBody = github.issueComments.at(-1)?.body ?? '';
    expect(replyBody).toContain('changed after your review');
    expect(replyBody).toContain(`\`${CASE}/suspect-3\``);
    expect(replyBody).not.toContain('suspect-2');

    // The same stale review again: nothing to approve, no commit, the reply still says why.
    const head = await tip();
    const again = await review('pull_request_review', await reviewEvent('approved', 'alice', 902, reviewed));
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await tip()).toBe(head);
    expect(github.issueComments.at(-1)?.body).toMatch(
      /^@alice nothing was approved\. .*`case-2025-01-19\/suspect-3`/,
    );

    // A review of the current tip approves it.
    const current = await review('pull_request_review', await reviewEvent('approved', 'alice', 903));
    expect(current.code, current.stdout + current.stderr).toBe(0);
    expect((await branchManifest()).images['suspect-3']?.review.status).toBe('approved');
  });

  test('events that decide nothing are ignored', async () => {
    const head = await tip();
    const commented = await review('pull_request_review', await reviewEvent('commented', 'alice', 801));
    expect(commented.code).toBe(0);
    expect(commented.stdout).toContain('decides nothing');
    const chat = await review('issue_comment', commentEvent('alice', 'looks good to me'));
    expect(chat.code).toBe(0);
    expect(await tip()).toBe(head);
  });

  test('the API key appears nowhere', async () => {
    await expectSecretNowhere(key, { runs, dirs: [remote.bare], github });
  });
});
