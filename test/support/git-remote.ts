import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs git with a clean environment so the host's global config and hooks cannot change results. */
export async function git(cwd: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  };
  delete env.GIT_DIR;
  delete env.GIT_INDEX_FILE;
  delete env.GIT_WORK_TREE;
  const { stdout } = await execFileAsync('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

export interface GitRemote {
  /** The bare repository, usable as a remote URL (a local path). */
  bare: string;
  /** A clone of `bare` with an initial commit on `main`, checked out. */
  clone: string;
  /** Another clone, checked out at main, for simulating a second writer. */
  makeClone(): Promise<string>;
  /** Files in `branch` of the bare repo (empty when the branch does not exist). */
  filesAt(branch: string): Promise<string[]>;
  /** Content of one file at `branch` in the bare repo. */
  show(branch: string, path: string): Promise<string>;
  /** Commit subjects of `branch`, newest first. */
  log(branch: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

async function configure(repo: string): Promise<void> {
  await git(repo, ['config', 'user.name', 'Lineup Test']);
  await git(repo, ['config', 'user.email', 'test@lineup.invalid']);
  await git(repo, ['config', 'commit.gpgsign', 'false']);
}

/** A bare repo and a clone with one commit (`README.md`) on main, in temp dirs. */
export async function makeGitRemote(): Promise<GitRemote> {
  const dir = await mkdtemp(join(tmpdir(), 'lineup-git-'));
  const bare = join(dir, 'remote.git');
  const clone = join(dir, 'work');
  await git(dir, ['init', '-q', '--bare', '-b', 'main', bare]);
  await git(dir, ['init', '-q', '-b', 'main', clone]);
  await configure(clone);
  await writeFile(join(clone, 'README.md'), '# test repo\n');
  await git(clone, ['add', 'README.md']);
  await git(clone, ['commit', '-q', '-m', 'initial']);
  await git(clone, ['remote', 'add', 'origin', bare]);
  await git(clone, ['push', '-q', '-u', 'origin', 'main']);

  let clones = 0;
  return {
    bare,
    clone,
    async makeClone() {
      const path = join(dir, `clone-${++clones}`);
      await git(dir, ['clone', '-q', bare, path]);
      await configure(path);
      return path;
    },
    async filesAt(branch) {
      const exists = await git(bare, ['branch', '--list', branch]);
      if (!exists) return [];
      const out = await git(bare, ['ls-tree', '-r', '--name-only', branch]);
      return out ? out.split('\n').sort() : [];
    },
    show(branch, path) {
      return git(bare, ['show', `${branch}:${path}`]);
    },
    async log(branch) {
      const out = await git(bare, ['log', '--format=%s', branch]);
      return out ? out.split('\n') : [];
    },
    cleanup() {
      return rm(dir, { recursive: true, force: true });
    },
  };
}
