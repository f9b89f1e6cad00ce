import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { errorMessage } from '../util/error-message.ts';

export type Octokit = ReturnType<typeof getOctokit>;

/**
 * An Octokit for `token`. The base URL is read now rather than at import time (as @actions/github
 * does), so tests and GHES runners can point it elsewhere after the module loaded.
 */
/** Longest one GitHub API call may take. */
const GITHUB_TIMEOUT_MS = 30_000;

export function makeOctokit(
  token: string,
  baseUrl = process.env.GITHUB_API_URL || 'https://api.github.com',
): Octokit {
  const octokit = getOctokit(token, { baseUrl });
  // Every request has a timeout, GitHub's included: octokit's fetch takes only a signal, made per request.
  octokit.hook.wrap('request', (request, options) =>
    request({ ...options, request: { ...options.request, signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS) } }),
  );
  return octokit;
}

/** GitHub refuses PR and comment bodies longer than this many characters. */
export const MAX_BODY = 65_536;

export function clampBody(body: string): string {
  if (body.length <= MAX_BODY) return body;
  const note = '\n\n_(truncated: the full table is in the job summary and the report artifact)_\n';
  return body.slice(0, MAX_BODY - note.length) + note;
}

export interface UpsertPullRequestOptions {
  octokit: Octokit;
  owner: string;
  repo: string;
  /** Branch name in `owner/repo` (no `owner:` prefix). */
  head: string;
  base: string;
  title: string;
  body: string;
  labels?: string[];
  /**
   * Told when the labels could not be added; the default is a workflow warning (`core.warning`),
   * so a caller that never reads `labelWarning` still shows it.
   */
  onLabelWarning?: (message: string) => void;
}

export interface PullRequestRef {
  number: number;
  url: string;
  created: boolean;
  /** Only when adding the labels failed: why. The PR itself was created or updated all the same. */
  labelWarning?: string;
}

function status(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number'
    ? error.status
    : undefined;
}

/**
 * The pull requests of this repository whose head is `branch` (open ones, or all). The head filter
 * is a search on GitHub's side; the ref is checked too so a fork's same-named branch never counts.
 */
export async function pullsOfBranch(
  target: { octokit: Octokit; owner: string; repo: string },
  branch: string,
  state: 'open' | 'all',
) {
  const { octokit, owner, repo } = target;
  const { data } = await octokit.rest.pulls.list({
    owner,
    repo,
    state,
    head: `${owner}:${branch}`,
    per_page: 100,
  });
  return data.filter(
    (pr) => pr.head.ref === branch && (pr.head.repo?.full_name ?? `${owner}/${repo}`) === `${owner}/${repo}`,
  );
}

async function findOpen(
  o: UpsertPullRequestOptions,
): Promise<{ number: number; html_url: string } | undefined> {
  return (await pullsOfBranch(o, o.head, 'open'))[0];
}

function errorText(error: unknown): string {
  const code = status(error);
  const message = errorMessage(error);
  return code === undefined ? message : `HTTP ${code}: ${message}`;
}

/**
 * Opens the pull request for `head`, or updates the open one, so reruns on a branch never
 * produce a second PR. Labels are added (never removed), so a human's labels survive.
 *
 * Labels are a nicety: adding them can fail where the PR did not (a label that does not exist yet
 * is created on the fly, which needs `issues: write`). That failure never undoes or aborts the run
 * that made the PR: it is returned as `labelWarning` and reported through `onLabelWarning`.
 */
export async function upsertPullRequest(options: UpsertPullRequestOptions): Promise<PullRequestRef> {
  const { octokit, owner, repo } = options;
  const body = clampBody(options.body);
  let pr = await findOpen(options);
  let created = false;
  if (pr) {
    await octokit.rest.pulls.update({ owner, repo, pull_number: pr.number, title: options.title, body });
  } else {
    try {
      const { data } = await octokit.rest.pulls.create({
        owner,
        repo,
        head: options.head,
        base: options.base,
        title: options.title,
        body,
      });
      pr = data;
      created = true;
    } catch (error) {
      // 422 here most often means another job opened the PR between our list and create.
      if (status(error) !== 422) throw error;
      pr = await findOpen(options);
      if (!pr) throw error;
      await octokit.rest.pulls.update({ owner, repo, pull_number: pr.number, title: options.title, body });
    }
  }
  const ref: PullRequestRef = { number: pr.number, url: pr.html_url, created };
  const labels = [...new Set((options.labels ?? []).filter(Boolean))];
  if (labels.length > 0) {
    try {
      await octokit.rest.issues.addLabels({ owner, repo, issue_number: pr.number, labels });
    } catch (error) {
      ref.labelWarning =
        `Labels ${labels.join(', ')} were not added to #${pr.number} (${errorText(error)}). ` +
        'Create them once in the repository (Issues → Labels), or give the job `issues: write` so they can be created on the fly.';
      (options.onLabelWarning ?? ((m: string) => core.warning(m, { title: 'Pull request labels' })))(
        ref.labelWarning,
      );
    }
  }
  return ref;
}

/** Posts a comment on a PR or issue (e.g. the reply to a refused `/regenerate`). */
export async function commentOnIssue(
  octokit: Octokit,
  target: { owner: string; repo: string; number: number },
  body: string,
): Promise<{ id: number; url: string }> {
  const { data } = await octokit.rest.issues.createComment({
    owner: target.owner,
    repo: target.repo,
    issue_number: target.number,
    body: clampBody(body),
  });
  return { id: data.id, url: data.html_url };
}
