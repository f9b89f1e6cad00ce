import { sep } from 'node:path';
import { scrub } from '../util/scrub.ts';
import { GitError, gitContext, type RunResult, run as runGit } from './git.ts';
import { isCommitId } from './refs.ts';

/**
 * Reading an `images/…` branch before a run writes it: its tip, files brought from a commit into
 * the working tree, a file at a commit. Git plumbing only; what a run decides from it is in
 * src/actions/branches.ts.
 */

/** git in `cwd` with the hygiene of git.ts: no shell, the token only in an env-config header. */
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
  if (!isCommitId(commit)) throw new GitError(`${JSON.stringify(commit)} is not a commit id`);
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
