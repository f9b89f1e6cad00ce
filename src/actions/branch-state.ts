import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { GitError } from '../github/git.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Same hygiene as src/github/git.ts: the token travels in an env-config header, never argv or .git/config. */
function env(token: string | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  delete out.GIT_DIR;
  delete out.GIT_INDEX_FILE;
  delete out.GIT_WORK_TREE;
  if (token) {
    const n = Number(out.GIT_CONFIG_COUNT ?? 0) || 0;
    out.GIT_CONFIG_COUNT = String(n + 1);
    out[`GIT_CONFIG_KEY_${n}`] = 'http.extraHeader';
    out[`GIT_CONFIG_VALUE_${n}`] =
      `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  }
  return out;
}

function run(cwd: string, args: string[], token?: string): Promise<Run> {
  return new Promise((done) => {
    execFile(
      'git',
      args,
      { cwd: resolve(cwd), env: env(token), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
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
  const scrubbed = token ? fetched.stderr.split(token).join('***') : fetched.stderr;
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
 * The branch a pull request should target: the branch the workflow runs on (the default branch for
 * schedules), else the checkout's branch, else the repository's default from the event, else main.
 */
export async function baseBranch(cwd: string, payload: Record<string, unknown> | undefined): Promise<string> {
  const ref = process.env.GITHUB_REF ?? '';
  if (ref.startsWith('refs/heads/')) return ref.slice('refs/heads/'.length);
  const head = await run(cwd, ['symbolic-ref', '-q', '--short', 'HEAD']);
  if (head.code === 0 && head.stdout.trim() && !head.stdout.trim().startsWith('images/'))
    return head.stdout.trim();
  const repo = payload?.repository;
  if (
    repo &&
    typeof repo === 'object' &&
    'default_branch' in repo &&
    typeof repo.default_branch === 'string'
  ) {
    return repo.default_branch;
  }
  return 'main';
}
