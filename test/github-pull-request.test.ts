import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  clampBody,
  commentOnIssue,
  MAX_BODY,
  makeOctokit,
  upsertPullRequest,
} from '../src/github/pull-request.ts';
import { canWrite } from '../src/github/review.ts';
import { type FakeGitHub, startFakeGitHub } from './support/fake-github.ts';

const TOKEN = 'ghs_fakeToken0123456789';
const OWNER = 'acme';
const REPO = 'lineup';

let gh: FakeGitHub;

beforeEach(async () => {
  gh = await startFakeGitHub({ token: TOKEN });
});
afterEach(async () => {
  await gh.close();
});

const octokit = () => makeOctokit(TOKEN, gh.url);

const base = () => ({
  octokit: octokit(),
  owner: OWNER,
  repo: REPO,
  head: 'images/case-2025-01-19',
  base: 'main',
});

describe('upsertPullRequest', () => {
  test('creates the PR the first time and updates it, not a second one, the next time', async () => {
    const first = await upsertPullRequest({
      ...base(),
      title: 'Images v1',
      body: 'body v1',
      labels: ['images'],
    });
    expect(first).toEqual({ number: 1, url: `https://github.com/${OWNER}/${REPO}/pull/1`, created: true });

    const second = await upsertPullRequest({
      ...base(),
      title: 'Images v2',
      body: 'body v2',
      labels: ['images', 'needs-review'],
    });
    expect(second).toEqual({ ...first, created: false });

    expect(gh.pulls).toHaveLength(1);
    expect(gh.pulls[0]).toMatchObject({
      title: 'Images v2',
      body: 'body v2',
      head: 'images/case-2025-01-19',
      base: 'main',
    });
    expect(gh.pulls[0]?.labels).toEqual(['images', 'needs-review']);

    const list = gh.requests.find((r) => r.method === 'GET' && r.path.endsWith('/pulls'));
    expect(list?.query).toMatchObject({ state: 'open', head: `${OWNER}:images/case-2025-01-19` });
    expect(gh.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
  });

  test('a closed PR for the branch is not reused', async () => {
    gh.addPull({ head: 'images/case-2025-01-19', state: 'closed' });
    const pr = await upsertPullRequest({ ...base(), title: 't', body: 'b' });
    expect(pr.created).toBe(true);
    expect(gh.pulls.filter((p) => p.state === 'open')).toHaveLength(1);
  });

  test('another branch’s open PR is left alone', async () => {
    gh.addPull({ head: 'images/case-2025-01-20', title: 'other' });
    const pr = await upsertPullRequest({ ...base(), title: 't', body: 'b' });
    expect(pr.created).toBe(true);
    expect(gh.pulls.map((p) => p.title)).toEqual(['other', 't']);
  });

  test('no labels → no label request', async () => {
    await upsertPullRequest({ ...base(), title: 't', body: 'b', labels: [] });
    expect(gh.requests.some((r) => r.path.includes('/labels'))).toBe(false);
  });

  test('a PR opened by someone else between list and create is updated instead', async () => {
    let raced = 0;
    gh.failNext('POST', /\/pulls$/, 422, 'A pull request already exists', () => {
      raced = gh.addPull({ head: 'images/case-2025-01-19', title: 'raced' }).number;
    });
    const pr = await upsertPullRequest({ ...base(), title: 'mine', body: 'b', labels: ['images'] });
    expect(pr).toEqual({ number: raced, url: expect.stringContaining(`/pull/${raced}`), created: false });
    expect(gh.pulls).toHaveLength(1);
    expect(gh.pulls[0]).toMatchObject({ title: 'mine', labels: ['images'] });
  });

  test('labels that cannot be added are a warning in the result: the PR stands, nothing throws', async () => {
    gh.failNext('POST', /\/issues\/\d+\/labels$/, 403, 'Resource not accessible by integration');
    const warnings: string[] = [];
    const pr = await upsertPullRequest({
      ...base(),
      title: 't',
      body: 'b',
      labels: ['lineup', 'images'],
      onLabelWarning: (m) => warnings.push(m),
    });
    expect(pr).toMatchObject({ number: 1, created: true });
    expect(pr.labelWarning).toMatch(
      /^Labels lineup, images were not added to #1 \(HTTP 403: Resource not accessible/,
    );
    expect(pr.labelWarning).toContain('issues: write');
    expect(warnings).toEqual([pr.labelWarning]);
    expect(gh.pulls).toEqual([expect.objectContaining({ number: 1, state: 'open', labels: [] })]);

    // The next run updates the same PR, and labels it once labelling works again.
    const again = await upsertPullRequest({ ...base(), title: 't2', body: 'b2', labels: ['lineup'] });
    expect(again).toEqual({ number: 1, url: pr.url, created: false });
    expect(gh.pulls[0]?.labels).toEqual(['lineup']);
  });

  test('without onLabelWarning, a label failure is a workflow warning (a caller need not read the result)', async () => {
    gh.failNext('POST', /\/labels$/, 422, 'Validation Failed');
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const pr = await upsertPullRequest({ ...base(), title: 't', body: 'b', labels: ['images'] });
      expect(pr.labelWarning).toContain('HTTP 422: Validation Failed');
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(
      /^::warning title=Pull request labels::Labels images were not added to #1/m,
    );
  });

  test('bodies over GitHub’s limit are cut with a note', async () => {
    const long = 'x'.repeat(MAX_BODY + 10);
    expect(clampBody(long).length).toBe(MAX_BODY);
    await upsertPullRequest({ ...base(), title: 't', body: long });
    expect(gh.pulls[0]?.body.length).toBe(MAX_BODY);
    expect(gh.pulls[0]?.body).toMatch(/truncated/);
  });

  test('a bad token is an error', async () => {
    await expect(
      upsertPullRequest({ ...base(), octokit: makeOctokit('wrong', gh.url), title: 't', body: 'b' }),
    ).rejects.toMatchObject({ status: 401 });
  });
});

describe('commentOnIssue', () => {
  test('posts the body as given', async () => {
    gh.addPull({ head: 'images/x' });
    const body = 'Only collaborators with write access can run `/regenerate`. $(rm -rf /)';
    const c = await commentOnIssue(octokit(), { owner: OWNER, repo: REPO, number: 1 }, body);
    expect(c.url).toContain('/pull/1#issuecomment-');
    expect(gh.issueComments).toEqual([expect.objectContaining({ issueNumber: 1, body })]);
  });
});

describe('canWrite', () => {
  test.each([
    ['admin', true],
    ['maintain', true],
    ['write', true],
    ['triage', false],
    ['read', false],
    ['none', false],
  ] as const)('%s → %s', async (permission, expected) => {
    gh.setPermission(OWNER, REPO, 'alice', permission);
    expect(await canWrite(octokit(), OWNER, REPO, 'alice')).toBe(expected);
  });

  test('an unknown user cannot write; an API outage is not a refusal', async () => {
    gh.unknownUsers.add('ghost');
    expect(await canWrite(octokit(), OWNER, REPO, 'ghost')).toBe(false);
    gh.failNext('GET', /\/permission$/, 500, 'boom');
    await expect(canWrite(octokit(), OWNER, REPO, 'alice')).rejects.toMatchObject({ status: 500 });
  });
});
