import { sep } from 'node:path';
import { GitError, gitContext, type RunResult, run as runGit } from '../github/git.ts';
import type { Octokit } from '../github/pull-request.ts';
import { scrub } from '../util/scrub.ts';

/** git in `cwd` with the hygiene of src/github/git.ts: no shell, the token only in an env-config header. */
function run(cwd: string, args: string[], token?: string): Promise<RunResult> {
  return runGit(gitContext(cwd, token), args);
}

/**
 * The tip of `branch` on the remote, fetched into refs/remotes, or null when the remote has no
 * such branch. Any other failure (auth, network) is an error: guessing "no branch" there would
 * start the branch over and drop earlier work.
 */
export async function fetchBranch(
  cwd: string,
  branch: string,
  token: string | undefined,
  remote = 'origin',
): Promise<string | null> {
  const ref = `refs/remotes/${remote}/${branch}`;
  const fetched = await run(
    cwd,
    ['fetch', '--no-tags', '--quiet', remote, `+refs/heads/${branch}:${ref}`],
    token,
  );
  if (fetched.code === 0) return (await run(cwd, ['rev-parse', '--verify', `${ref}^{commit}`])).stdout.trim();
  const ls = await run(cwd, ['ls-remote', '--exit-code', '--heads', remote, `refs/heads/${branch}`], token);
  if (ls.code === 2) return null;
  const scrubbed = scrub(fetched.stderr, gitContext(cwd, token).secrets);
  throw new GitError(`git fetch ${remote} ${branch} failed: ${scrubbed.trim()}`, scrubbed);
}

/**
 * Brings `paths` (directories or files) to their state at `commit` in the working tree, so a run
 * continues from what the branch already holds (its images and manifest) instead of from the
 * checkout's older copy. Paths the commit does not have are left alone.
 */
export async function overlayFromCommit(cwd: string, commit: string, paths: string[]): Promise<string[]> {
  const present: string[] = [];
  for (const p of paths) {
    const ls = await run(cwd, ['ls-tree', '--name-only', commit, '--', p]);
    if (ls.code === 0 && ls.stdout.trim()) present.push(p);
  }
  if (present.length === 0) return [];
  // `checkout <commit> -- paths` writes the files (and the index, which commitAndPush never uses).
  const r = await run(cwd, ['checkout', commit, '--', ...present]);
  if (r.code !== 0)
    throw new GitError(`git checkout ${commit} -- ${present.join(' ')} failed: ${r.stderr.trim()}`);
  return present;
}

/**
 * The text of `path` at `commit`, or null when that commit has no such file. A commit the clone
 * lacks (a shallow checkout holds only the tip) is fetched from `remote` first; one that cannot be
 * had at all is an error, never "no such file".
 */
export async function fileAtCommit(
  cwd: string,
  commit: string,
  path: string,
  token: string | undefined,
  remote = 'origin',
): Promise<string | null> {
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/i.test(commit))
    throw new GitError(`${JSON.stringify(commit)} is not a commit id`);
  const known = async () => (await run(cwd, ['cat-file', '-e', `${commit}^{commit}`])).code === 0;
  if (!(await known())) {
    const fetched = await run(cwd, ['fetch', '--no-tags', '--quiet', '--depth=1', remote, commit], token);
    if (fetched.code !== 0 || !(await known())) {
      const scrubbed = scrub(fetched.stderr, gitContext(cwd, token).secrets);
      throw new GitError(`commit ${commit} cannot be fetched from ${remote}: ${scrubbed.trim()}`, scrubbed);
    }
  }
  const spec = `${commit}:${path.split(sep).join('/')}`;
  const blob = await run(cwd, ['cat-file', 'blob', spec]);
  if (blob.code === 0) return blob.stdout;
  if ((await run(cwd, ['cat-file', '-e', spec])).code !== 0) return null;
  throw new GitError(`git cat-file blob ${spec} failed: ${blob.stderr.trim()}`, blob.stderr);
}

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
  const { data } = await o.octokit.rest.pulls.list({
    owner: o.owner,
    repo: o.repo,
    state: 'all',
    head: `${o.owner}:${o.branch}`,
    per_page: 100,
  });
  // The head filter is a search on GitHub's side; check the ref too so a fork's same-named branch never counts.
  const own = data.filter(
    (pr) =>
      pr.head.ref === o.branch &&
      (pr.head.repo?.full_name ?? `${o.owner}/${o.repo}`) === `${o.owner}/${o.repo}`,
  );
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
  if (!prHead || !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/i.test(prHead)) return false;
  if (prHead === tip) return true;
  // An unknown commit (exit 128) is not an ancestor: only the exact tip counts then.
  const ancestor = async (of: string) =>
    (await run(cwd, ['merge-base', '--is-ancestor', prHead, of])).code === 0;
  return (await ancestor(tip)) && !(await ancestor('HEAD'));
}

/**
 * The branch a pull request should target: the branch the workflow runs on (the default branch for
 * schedules) unless that is an `images/…` branch itself, else the repository's default branch from
 * the event, else the checkout's branch (again never an `images/…` one), else main.
 */
export async function baseBranch(cwd: string, payload: Record<string, unknown> | undefined): Promise<string> {
  const ref = process.env.GITHUB_REF ?? '';
  if (ref.startsWith('refs/heads/')) {
    const name = ref.slice('refs/heads/'.length);
    if (name && !name.startsWith('images/')) return name;
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
  const head = await run(cwd, ['symbolic-ref', '-q', '--short', 'HEAD']);
  if (head.code === 0 && head.stdout.trim() && !head.stdout.trim().startsWith('images/'))
    return head.stdout.trim();
  return 'main';
}
