import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.ts';
import { scrub } from '../util/scrub.ts';

interface GitAuthor {
  name: string;
  email: string;
}

/** The identity GitHub shows as "github-actions[bot]", used when neither `author` nor git config names one. */
const ACTIONS_BOT: GitAuthor = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};

export interface CommitAndPushOptions {
  /** The working tree holding the files to commit. */
  cwd: string;
  /** Branch to commit to, e.g. `images/case-2025-01-19`. */
  branch: string;
  /** Files or directories (relative to `cwd`, or absolute inside it) whose working-tree state is committed. */
  paths: string[];
  message: string;
  author?: GitAuthor;
  remote?: string;
  /** Token for an https remote; sent as an HTTP header, never placed in a URL or argv. */
  token?: string;
  /** How many times to push, rebasing onto the moved branch in between. */
  maxAttempts?: number;
  /**
   * Start the branch over: the commit is built on HEAD instead of the remote branch, and replaces
   * the branch with `--force-with-lease=<branch>:<its tip as fetched>`, never a blind force. When the
   * branch moves in between, nothing is overwritten: the push fails with a GitError.
   */
  fresh?: boolean;
  /**
   * With `fresh`: the remote tip the caller judged stale (null: the caller saw no branch). When the
   * branch is somewhere else by the time of the commit, nothing is pushed (GitError).
   */
  expectedTip?: string | null;
}

export interface CommitResult {
  /** The branch tip after the call: the new commit, or the unchanged base when there was nothing to commit. */
  sha: string;
  changed: boolean;
  /** How many pushes it took (0 when nothing changed). */
  attempts: number;
}

export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(message);
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Where and how a git command runs; `secrets` are scrubbed from any error text. */
export interface GitContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  secrets: string[];
}

/** Runs git without a shell; never throws on a non-zero exit, the caller reads `code`. */
/** Longest any one git command may take (a push of a day's images is far quicker). */
const GIT_TIMEOUT_MS = 5 * 60_000;

export function run(ctx: GitContext, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      'git',
      args,
      {
        cwd: ctx.cwd,
        env: { ...ctx.env, ...extraEnv },
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        // A fetch or push against a server that stops answering must not hang the job.
        timeout: GIT_TIMEOUT_MS,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ stdout, stderr, code });
      },
    );
  });
}

async function git(ctx: GitContext, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(ctx, args, extraEnv);
  if (r.code !== 0) {
    const detail = scrub(r.stderr.trim() || r.stdout.trim(), ctx.secrets);
    throw new GitError(`git ${args[0]} failed (exit ${r.code}): ${detail}`, scrub(r.stderr, ctx.secrets));
  }
  return r.stdout;
}

/**
 * The environment every git command runs with: no prompts, C locale, no inherited GIT_DIR/index,
 * and the token (when given) as an env-config HTTP header, never in argv or .git/config.
 */
function gitEnv(token: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  // A caller's GIT_DIR or index would silently redirect every command below to another repository.
  delete env.GIT_DIR;
  delete env.GIT_INDEX_FILE;
  delete env.GIT_WORK_TREE;
  if (token) {
    // Config through the environment keeps the token out of argv (visible in `ps`) and out of .git/config.
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    const n = Number(env.GIT_CONFIG_COUNT ?? 0) || 0;
    env.GIT_CONFIG_COUNT = String(n + 1);
    env[`GIT_CONFIG_KEY_${n}`] = 'http.extraHeader';
    env[`GIT_CONFIG_VALUE_${n}`] = `AUTHORIZATION: basic ${basic}`;
  }
  return env;
}

/** A context for `cwd` whose errors never show the token, raw or as the base64 header. */
export function gitContext(cwd: string, token?: string): GitContext {
  return {
    cwd: resolve(cwd),
    env: gitEnv(token),
    secrets: token ? [token, Buffer.from(`x-access-token:${token}`).toString('base64')] : [],
  };
}

function relativePaths(cwd: string, paths: string[]): string[] {
  const root = resolve(cwd);
  return paths.map((p) => {
    const rel = relative(root, isAbsolute(p) ? p : resolve(root, p));
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new InputError(`${JSON.stringify(p)} is not inside the repository ${root}`, { field: 'paths' });
    }
    return rel.split(sep).join('/');
  });
}

async function assertBranchName(ctx: GitContext, branch: string): Promise<void> {
  const r = await run(ctx, ['check-ref-format', '--branch', branch]);
  if (r.code !== 0 || branch.startsWith('-')) {
    throw new InputError(`${JSON.stringify(branch)} is not a valid branch name`, { field: 'branch' });
  }
}

async function remoteTip(ctx: GitContext, remote: string, branch: string): Promise<string | null> {
  const r = await run(ctx, [
    'fetch',
    '--no-tags',
    '--quiet',
    remote,
    `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`,
  ]);
  if (r.code === 0) {
    return (await git(ctx, ['rev-parse', '--verify', `refs/remotes/${remote}/${branch}^{commit}`])).trim();
  }
  // A failed fetch is only "no such branch" when the remote answers and lacks it; anything else is real.
  const ls = await run(ctx, ['ls-remote', '--exit-code', '--heads', remote, `refs/heads/${branch}`]);
  if (ls.code === 2) return null;
  throw new GitError(
    `git fetch ${remote} ${branch} failed: ${scrub(r.stderr.trim(), ctx.secrets)}`,
    r.stderr,
  );
}

/** A tree equal to `base` with the given paths replaced by their working-tree state, built in a private index. */
async function treeWithPaths(
  ctx: GitContext,
  base: string,
  paths: string[],
  indexFile: string,
): Promise<string> {
  const env = { GIT_INDEX_FILE: indexFile };
  await git(ctx, ['read-tree', base], env);
  const present = paths.filter((p) => existsSync(join(ctx.cwd, p)));
  const absent = paths.filter((p) => !existsSync(join(ctx.cwd, p)));
  // -f: a generated file may match a .gitignore pattern, and the caller asked for it by name.
  if (present.length > 0) await git(ctx, ['add', '-A', '-f', '--', ...present], env);
  if (absent.length > 0)
    await git(ctx, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', ...absent], env);
  return (await git(ctx, ['write-tree'], env)).trim();
}

async function resolveAuthor(ctx: GitContext, author: GitAuthor | undefined): Promise<GitAuthor> {
  if (author) return author;
  const name = (await run(ctx, ['config', 'user.name'])).stdout.trim();
  const email = (await run(ctx, ['config', 'user.email'])).stdout.trim();
  return name && email ? { name, email } : ACTIONS_BOT;
}

async function commitTree(
  ctx: GitContext,
  tree: string,
  parent: string,
  message: string,
  author: GitAuthor,
): Promise<string> {
  const env = {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
  return (await git(ctx, ['commit-tree', tree, '-p', parent, '-m', message], env)).trim();
}

function isRejection(text: string): boolean {
  return /\[rejected\]|non-fast-forward|fetch first|\[remote rejected\].*(?:cannot lock ref|incorrect old value)|stale info/i.test(
    text,
  );
}

/**
 * Replays `commit` (a child of `oldBase`) onto `newBase` with a three-way merge, like a one-commit rebase.
 * Conflicts stop the run instead of letting either side win silently.
 */
async function rebaseCommit(
  ctx: GitContext,
  commit: string,
  newBase: string,
  message: string,
  author: GitAuthor,
): Promise<string> {
  const merged = await run(ctx, ['merge-tree', '--write-tree', '--no-messages', newBase, commit]);
  if (merged.code === 1) {
    const conflicted = merged.stdout.split('\n').slice(1).filter(Boolean).join(', ');
    throw new GitError(
      `the branch moved and its changes conflict with this commit: ${conflicted}`,
      merged.stdout,
    );
  }
  if (merged.code !== 0) {
    throw new GitError(`git merge-tree failed: ${scrub(merged.stderr.trim(), ctx.secrets)}`, merged.stderr);
  }
  const tree = merged.stdout.split('\n')[0]?.trim() ?? '';
  return commitTree(ctx, tree, newBase, message, author);
}

async function treeOf(ctx: GitContext, commit: string): Promise<string> {
  return (await git(ctx, ['rev-parse', `${commit}^{tree}`])).trim();
}

/**
 * Commits the working-tree state of exactly `paths` onto `branch` and pushes it.
 *
 * The commit is built in a private index on top of the remote branch when it exists (so a rerun
 * adds on top of the last run) or the current HEAD when it does not; the caller's index and
 * working tree are never touched, so unrelated local changes cannot leak into the commit. When
 * the push is rejected because the branch moved, the commit is replayed onto the new tip with a
 * three-way merge and pushed again. With `fresh`, the commit is built on HEAD and replaces the
 * branch under a lease on the tip it had when fetched.
 */
export async function commitAndPush(options: CommitAndPushOptions): Promise<CommitResult> {
  const remote = options.remote ?? 'origin';
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const ctx = gitContext(options.cwd, options.token);
  if (options.paths.length === 0)
    throw new InputError('nothing to commit: no paths given', { field: 'paths' });
  await assertBranchName(ctx, options.branch);
  if (remote.startsWith('-'))
    throw new InputError(`${JSON.stringify(remote)} is not a remote`, { field: 'remote' });
  const paths = relativePaths(ctx.cwd, options.paths);
  const author = await resolveAuthor(ctx, options.author);
  const gitDir = (await git(ctx, ['rev-parse', '--absolute-git-dir'])).trim();
  const indexFile = join(gitDir, `lineup-index-${process.pid}-${Date.now()}`);

  try {
    const tip = await remoteTip(ctx, remote, options.branch);
    const fresh = options.fresh === true;
    if (fresh && options.expectedTip !== undefined && tip !== options.expectedTip) {
      throw new GitError(
        `${remote} ${options.branch} moved (to ${tip ?? 'nothing'}) since it was found to be ${options.expectedTip ?? 'absent'}; not starting it over`,
      );
    }
    const base = !fresh && tip ? tip : (await git(ctx, ['rev-parse', '--verify', 'HEAD^{commit}'])).trim();
    const tree = await treeWithPaths(ctx, base, paths, indexFile);
    if (tree === (await treeOf(ctx, base))) {
      // Starting over with nothing new leaves the branch as it is: a branch equal to its base
      // could not carry a pull request anyway.
      return { sha: base, changed: false, attempts: 0 };
    }
    let commit = await commitTree(ctx, tree, base, options.message, author);
    // Starting over replaces the branch, but only the tip that was judged stale: an empty lease
    // value means "the branch must not exist".
    const lease = fresh ? [`--force-with-lease=refs/heads/${options.branch}:${tip ?? ''}`] : [];

    for (let attempt = 1; ; attempt++) {
      const push = await run(ctx, [
        'push',
        '--porcelain',
        ...lease,
        remote,
        `${commit}:refs/heads/${options.branch}`,
      ]);
      if (push.code === 0) {
        await updateLocalBranch(ctx, options.branch, commit, remote);
        return { sha: commit, changed: true, attempts: attempt };
      }
      const output = `${push.stdout}\n${push.stderr}`;
      if (fresh) {
        // Someone pushed to the branch after it was fetched: their work is not ours to replace.
        throw new GitError(
          `git push to ${remote} ${options.branch} ${isRejection(output) ? 'was rejected: the branch moved while it was being started over' : 'failed'}: ${scrub(push.stderr.trim() || push.stdout.trim(), ctx.secrets)}`,
          scrub(push.stderr, ctx.secrets),
        );
      }
      if (!isRejection(output) || attempt >= maxAttempts) {
        const why = isRejection(output) ? `still rejected after ${attempt} attempts` : 'failed';
        throw new GitError(
          `git push to ${remote} ${options.branch} ${why}: ${scrub(push.stderr.trim() || push.stdout.trim(), ctx.secrets)}`,
          scrub(push.stderr, ctx.secrets),
        );
      }
      const moved = await remoteTip(ctx, remote, options.branch);
      if (!moved) {
        // The branch was deleted between our attempts: the commit as built is still valid on its own.
        continue;
      }
      commit = await rebaseCommit(ctx, commit, moved, options.message, author);
      if ((await treeOf(ctx, commit)) === (await treeOf(ctx, moved))) {
        // Someone pushed the same content already; nothing of ours is left to add.
        await updateLocalBranch(ctx, options.branch, moved, remote);
        return { sha: moved, changed: false, attempts: attempt };
      }
    }
  } finally {
    await rm(indexFile, { force: true });
  }
}

/**
 * Points the local branch (and remote-tracking ref) at the pushed commit. When that branch is
 * the one checked out, the index is re-read so the committed files do not show as staged reversals.
 */
async function updateLocalBranch(
  ctx: GitContext,
  branch: string,
  commit: string,
  remote: string,
): Promise<void> {
  await git(ctx, ['update-ref', `refs/heads/${branch}`, commit]);
  await git(ctx, ['update-ref', `refs/remotes/${remote}/${branch}`, commit]);
  const head = await run(ctx, ['symbolic-ref', '-q', 'HEAD']);
  if (head.code === 0 && head.stdout.trim() === `refs/heads/${branch}`) {
    await git(ctx, ['reset', '-q', '--mixed']);
  }
}
