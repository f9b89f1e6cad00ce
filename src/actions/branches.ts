import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as core from '@actions/core';
import { InputError } from '../errors.ts';
import { fetchBranch, overlayFromCommit } from '../github/branch-read.ts';
import { gitContext, run as runGit } from '../github/git.ts';
import { makeOctokit, type Octokit, pullsOfBranch } from '../github/pull-request.ts';
import { isCommitId, isImagesBranch } from '../github/refs.ts';
import { repository } from './inputs.ts';

/**
 * The `images/…` branches as a run sees them: what to do with one it is about to write (start it,
 * continue it, start it over), the pull request's base, and the run's one look at each branch.
 * The git plumbing underneath is src/github/branch-read.ts; the names, src/github/refs.ts.
 */

/**
 * What a run does with an `images/…` branch it is about to write:
 * - `absent`: no such branch; the commit goes on HEAD.
 * - `continue`: the branch is work in progress (an open pull request, or commits no closed pull
 *   request ever carried, e.g. a batch-mode batch submitted but not collected yet): the run
 *   continues from it and commits on top of it.
 * - `fresh`: everything on the branch went into a pull request that was merged or closed and none
 *   is open: its images are either on the base branch already or were turned down, so the run
 *   starts the branch over from HEAD (the base branch's case data) and opens a new pull request.
 */
export type BranchPlan =
  | { kind: 'absent' }
  | { kind: 'continue'; tip: string; pullRequest: number | undefined }
  | { kind: 'fresh'; tip: string; pullRequest: number; merged: boolean };

export interface PlanBranchOptions {
  cwd: string;
  branch: string;
  token: string | undefined;
  octokit: Octokit;
  owner: string;
  repo: string;
  remote?: string;
}

/** Decides (see BranchPlan) from the remote branch's tip and the pull requests GitHub has for it. */
export async function planBranch(o: PlanBranchOptions): Promise<BranchPlan> {
  const tip = await fetchBranch(o.cwd, o.branch, o.token, o.remote);
  if (!tip) return { kind: 'absent' };
  const own = await pullsOfBranch(o, o.branch, 'all');
  const open = own.find((pr) => pr.state === 'open');
  if (open) return { kind: 'continue', tip, pullRequest: open.number };
  for (const pr of own) {
    if (await carried(o.cwd, pr.head.sha, tip)) {
      return { kind: 'fresh', tip, pullRequest: pr.number, merged: Boolean(pr.merged_at) };
    }
  }
  return { kind: 'continue', tip, pullRequest: undefined };
}

/**
 * Whether the branch at `tip` still holds a closed pull request's commits: it is that PR's head,
 * or grows from it. A branch started over since (from the base branch, which holds the PR's head
 * itself when it was merged with a merge commit) does not.
 */
async function carried(cwd: string, prHead: string | undefined, tip: string): Promise<boolean> {
  if (!prHead || !isCommitId(prHead)) return false;
  if (prHead === tip) return true;
  // An unknown commit (exit 128) is not an ancestor: only the exact tip counts then.
  const ancestor = async (of: string) =>
    (await runGit(gitContext(cwd), ['merge-base', '--is-ancestor', prHead, of])).code === 0;
  return (await ancestor(tip)) && !(await ancestor('HEAD'));
}

/**
 * The branch a pull request should target: the branch the workflow runs on (the default branch for
 * schedules) unless that is an `images/…` branch itself, else the repository's default branch from
 * the event, else the checkout's branch (again never an `images/…` one), else main.
 */
async function baseBranch(cwd: string, payload: Record<string, unknown> | undefined): Promise<string> {
  const ref = process.env.GITHUB_REF ?? '';
  if (ref.startsWith('refs/heads/')) {
    const name = ref.slice('refs/heads/'.length);
    if (name && !isImagesBranch(name)) return name;
  }
  const repo = payload?.repository;
  if (
    repo &&
    typeof repo === 'object' &&
    'default_branch' in repo &&
    typeof repo.default_branch === 'string' &&
    repo.default_branch
  ) {
    return repo.default_branch;
  }
  const head = await runGit(gitContext(cwd), ['symbolic-ref', '-q', '--short', 'HEAD']);
  if (head.code === 0 && head.stdout.trim() && !isImagesBranch(head.stdout.trim())) return head.stdout.trim();
  return 'main';
}

/**
 * What a run brings over from a branch it continues: the cases' images (manifest included) and
 * reports/progress (batch ids are numbered from the files present, and a rerun must not claim, and
 * overwrite on the branch, an id the branch already used). A case.json only where the checkout has
 * none (a case that exists only on the branch so far): the base branch owns the case data, so an
 * edit made there is what the scan and the prompts see.
 */
function overlayPaths(root: string, caseIds: readonly string[]): string[] {
  return [
    ...caseIds.flatMap((id) => [
      join('cases', id, 'images'),
      ...(existsSync(join(root, 'cases', id, 'case.json')) ? [] : [join('cases', id, 'case.json')]),
    ]),
    join('reports', 'progress'),
  ];
}

/**
 * The pull request's base; never the head branch itself (a run dispatched from an `images/…` ref
 * whose repository default could not be read would otherwise target its own branch).
 */
export async function pullRequestBase(root: string, head: string): Promise<string> {
  const base = await baseBranch(root, await eventPayload());
  if (base === head) {
    throw new InputError(
      `the pull request for ${head} would target ${base} itself; run the workflow from the default branch`,
      { field: 'GITHUB_REF' },
    );
  }
  return base;
}

/**
 * The run's view of the `images/…` branches it writes: each branch is looked at once (see
 * BranchPlan). A branch the run continues from is overlaid into the working tree before anything
 * is planned or generated for it, so the run adds to what the branch already holds.
 */
export class Branches {
  private readonly plans = new Map<string, BranchPlan>();
  /** Paths already brought over per branch: a second look only adds what the first did not cover. */
  private readonly overlaid = new Map<string, Set<string>>();
  private octokit: Octokit | undefined;

  constructor(
    private readonly root: string,
    private readonly token: string | undefined,
  ) {}

  /** Decides the branch; with `overlay`, brings a continued branch's state into the working tree. */
  async settle(branch: string, cases: readonly string[], overlay: boolean): Promise<BranchPlan> {
    const plan = this.plans.get(branch) ?? (await this.decide(branch));
    if (plan.kind === 'continue' && overlay) {
      const done = this.overlaid.get(branch) ?? new Set<string>();
      this.overlaid.set(branch, done);
      const paths = overlayPaths(this.root, cases).filter((p) => !done.has(p));
      for (const p of paths) done.add(p);
      const brought = paths.length ? await overlayFromCommit(this.root, plan.tip, paths) : [];
      if (brought.length)
        core.info(`Continuing from ${branch} (${plan.tip.slice(0, 12)}): ${brought.join(', ')}`);
    }
    return plan;
  }

  private async decide(branch: string): Promise<BranchPlan> {
    if (!this.token) throw new InputError('commit needs github-token', { field: 'github-token' });
    this.octokit ??= makeOctokit(this.token);
    const { owner, repo } = repository();
    const plan = await planBranch({
      cwd: this.root,
      branch,
      token: this.token,
      octokit: this.octokit,
      owner,
      repo,
    });
    this.plans.set(branch, plan);
    if (plan.kind === 'fresh') {
      core.info(
        `${branch}: pull request #${plan.pullRequest} was ${plan.merged ? 'merged' : 'closed'} and the branch still holds it (${plan.tip.slice(0, 12)}); starting the branch over from the checkout`,
      );
    }
    return plan;
  }
}

/** The event that started the workflow, as GitHub wrote it to GITHUB_EVENT_PATH; undefined when unreadable. */
async function eventPayload(): Promise<Record<string, unknown> | undefined> {
  const path = process.env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
