import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { commitAndPush, GitError } from '../src/github/git.ts';
import { type GitRemote, git, makeGitRemote } from './support/git-remote.ts';

const BRANCH = 'images/case-2025-01-19';
const IMAGES = 'cases/case-2025-01-19/images';

let remote: GitRemote;

beforeEach(async () => {
  remote = await makeGitRemote();
});
afterEach(async () => {
  await remote.cleanup();
});

async function put(repo: string, path: string, content: string): Promise<void> {
  await mkdir(join(repo, path, '..'), { recursive: true });
  await writeFile(join(repo, path), content);
}

/** A fresh-mode commitAndPush of IMAGES from `cwd` to BRANCH, expecting the branch at `expectedTip`. */
function pushFresh(cwd: string, message: string, expectedTip: string) {
  return commitAndPush({ cwd, branch: BRANCH, paths: [IMAGES], message, fresh: true, expectedTip });
}

/**
 * Makes a second writer push to `branch` right after the clone's next fetch of it, i.e. between
 * commitAndPush's fetch and its push: the race a concurrent job produces. Fires once.
 */
async function raceOnNextFetch(repo: string, other: string, branch: string): Promise<void> {
  const hook = join(repo, '.git', 'hooks', 'reference-transaction');
  const marker = join(repo, '.git', 'race-done');
  const script = `#!/bin/sh
[ "$1" = committed ] || exit 0
grep -q "refs/remotes/origin/${branch}$" || exit 0
[ -e "${marker}" ] && exit 0
touch "${marker}"
cd "${other}" && env -u GIT_DIR -u GIT_INDEX_FILE -u GIT_WORK_TREE -u GIT_CONFIG_COUNT git push -q origin HEAD:refs/heads/${branch} >/dev/null 2>&1
exit 0
`;
  // The hook only sees a fetch that updates the tracking ref, as a fresh CI checkout's fetch does.
  await git(repo, ['update-ref', '-d', `refs/remotes/origin/${branch}`]);
  await writeFile(hook, script);
  await chmod(hook, 0o755);
}

describe('commitAndPush', () => {
  test('creates the branch from HEAD with exactly the given paths', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'png-1');
    await put(remote.clone, `${IMAGES}/manifest.json`, '{}');
    await put(remote.clone, 'unrelated.txt', 'local scratch');

    const result = await commitAndPush({
      cwd: remote.clone,
      branch: BRANCH,
      paths: [`${IMAGES}/suspect-1.png`, join(remote.clone, IMAGES, 'manifest.json')],
      message: 'Add images for case-2025-01-19',
    });

    expect(result.changed).toBe(true);
    expect(result.attempts).toBe(1);
    expect(await remote.filesAt(BRANCH)).toEqual([
      'README.md',
      `${IMAGES}/manifest.json`,
      `${IMAGES}/suspect-1.png`,
    ]);
    expect(await git(remote.bare, ['rev-parse', BRANCH])).toBe(result.sha);
    expect(await git(remote.bare, ['rev-parse', `${BRANCH}^`])).toBe(
      await git(remote.clone, ['rev-parse', 'main']),
    );
    expect(await git(remote.bare, ['log', '-1', '--format=%an <%ae>', BRANCH])).toBe(
      'Lineup Test <test@lineup.invalid>',
    );
    // The caller's checkout and index are left alone.
    expect(await git(remote.clone, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
    expect(await git(remote.clone, ['diff', '--cached', '--name-only'])).toBe('');
  });

  test('uses the given author', async () => {
    await put(remote.clone, `${IMAGES}/scene.png`, 'scene');
    await commitAndPush({
      cwd: remote.clone,
      branch: BRANCH,
      paths: [IMAGES],
      message: 'scene',
      author: { name: 'lineup-bot', email: 'bot@lineup.invalid' },
    });
    expect(await git(remote.bare, ['log', '-1', '--format=%an <%ae>|%cn', BRANCH])).toBe(
      'lineup-bot <bot@lineup.invalid>|lineup-bot',
    );
  });

  test('reports nothing changed and pushes nothing when the paths match the base', async () => {
    const result = await commitAndPush({
      cwd: remote.clone,
      branch: BRANCH,
      paths: ['README.md'],
      message: 'noop',
    });
    expect(result).toEqual({
      sha: await git(remote.clone, ['rev-parse', 'HEAD']),
      changed: false,
      attempts: 0,
    });
    expect(await remote.filesAt(BRANCH)).toEqual([]);
  });

  test('a rerun from a fresh checkout adds on top of the existing branch', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'one');
    const first = await commitAndPush({
      cwd: remote.clone,
      branch: BRANCH,
      paths: [IMAGES],
      message: 'first',
    });

    const fresh = await remote.makeClone();
    await put(fresh, `${IMAGES}/suspect-2.png`, 'two');
    const second = await commitAndPush({
      cwd: fresh,
      branch: BRANCH,
      paths: [`${IMAGES}/suspect-2.png`],
      message: 'second',
    });

    expect(second.changed).toBe(true);
    expect(await git(remote.bare, ['rev-parse', `${BRANCH}^`])).toBe(first.sha);
    expect(await remote.filesAt(BRANCH)).toEqual([
      'README.md',
      `${IMAGES}/suspect-1.png`,
      `${IMAGES}/suspect-2.png`,
    ]);
    expect(await remote.log(BRANCH)).toEqual(['second', 'first', 'initial']);
  });

  test('a deleted path is committed as a deletion', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'one');
    await commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: [IMAGES], message: 'add' });
    const fresh = await remote.makeClone();
    await git(fresh, ['checkout', '-q', BRANCH]);
    await git(fresh, ['rm', '-q', `${IMAGES}/suspect-1.png`]);
    await commitAndPush({
      cwd: fresh,
      branch: BRANCH,
      paths: [`${IMAGES}/suspect-1.png`],
      message: 'remove',
    });
    expect(await remote.filesAt(BRANCH)).toEqual(['README.md']);
  });

  test('when the branch moved between fetch and push, rebases onto it and pushes again', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'one');
    await commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: [IMAGES], message: 'first' });

    const other = await remote.makeClone();
    await git(other, ['checkout', '-q', BRANCH]);
    await put(other, `${IMAGES}/scene.png`, 'scene by another job');
    await git(other, ['add', '.']);
    await git(other, ['commit', '-q', '-m', 'concurrent']);

    await put(remote.clone, `${IMAGES}/suspect-2.png`, 'two');
    await raceOnNextFetch(remote.clone, other, BRANCH);
    const result = await commitAndPush({
      cwd: remote.clone,
      branch: BRANCH,
      paths: [`${IMAGES}/suspect-2.png`],
      message: 'mine',
    });

    expect(result.changed).toBe(true);
    expect(result.attempts).toBe(2);
    expect(await remote.log(BRANCH)).toEqual(['mine', 'concurrent', 'first', 'initial']);
    expect(await remote.filesAt(BRANCH)).toEqual([
      'README.md',
      `${IMAGES}/scene.png`,
      `${IMAGES}/suspect-1.png`,
      `${IMAGES}/suspect-2.png`,
    ]);
    expect(await git(remote.bare, ['rev-parse', BRANCH])).toBe(result.sha);
  });

  test('a conflicting concurrent change stops with a clear error instead of overwriting it', async () => {
    await put(remote.clone, `${IMAGES}/manifest.json`, '{"a":1}\n');
    await commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: [IMAGES], message: 'first' });

    const other = await remote.makeClone();
    await git(other, ['checkout', '-q', BRANCH]);
    await put(other, `${IMAGES}/manifest.json`, '{"a":2}\n');
    await git(other, ['commit', '-q', '-am', 'concurrent']);

    await put(remote.clone, `${IMAGES}/manifest.json`, '{"a":3}\n');
    await raceOnNextFetch(remote.clone, other, BRANCH);
    const run = commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: [IMAGES], message: 'mine' });
    await expect(run).rejects.toThrow(GitError);
    await expect(run).rejects.toThrow(/conflict.*manifest\.json/);
    expect(await remote.show(BRANCH, `${IMAGES}/manifest.json`)).toBe('{"a":2}');
  });

  test('fresh: starts the branch over from HEAD, dropping what only the old branch had', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'rejected');
    const old = await commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: [IMAGES], message: 'old' });

    // main moved on meanwhile; the next run starts from it.
    const fresh = await remote.makeClone();
    await put(fresh, 'main-change.txt', 'on main');
    await git(fresh, ['add', 'main-change.txt']);
    await git(fresh, ['commit', '-q', '-m', 'main moved']);
    await git(fresh, ['push', '-q', 'origin', 'main']);
    await put(fresh, `${IMAGES}/suspect-2.png`, 'new');
    const result = await pushFresh(fresh, 'new', old.sha);

    expect(result.changed).toBe(true);
    expect(await remote.log(BRANCH)).toEqual(['new', 'main moved', 'initial']);
    expect(await remote.filesAt(BRANCH)).toEqual(['README.md', `${IMAGES}/suspect-2.png`, 'main-change.txt']);
    expect(await git(remote.bare, ['rev-parse', BRANCH])).toBe(result.sha);
  });

  test('fresh with nothing new leaves the old branch alone', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'old');
    const old = await commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: [IMAGES], message: 'old' });
    const fresh = await remote.makeClone();
    const result = await pushFresh(fresh, 'nothing', old.sha);
    expect(result).toEqual({ sha: await git(fresh, ['rev-parse', 'HEAD']), changed: false, attempts: 0 });
    expect(await git(remote.bare, ['rev-parse', BRANCH])).toBe(old.sha);
  });

  test('fresh never overwrites a branch that moved: not since it was judged stale, not during the push', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'old');
    const old = await commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: [IMAGES], message: 'old' });

    const other = await remote.makeClone();
    await git(other, ['checkout', '-q', BRANCH]);
    await put(other, `${IMAGES}/scene.png`, 'scene by another job');
    await git(other, ['add', '.']);
    await git(other, ['commit', '-q', '-m', 'concurrent']);
    await git(other, ['push', '-q', 'origin', BRANCH]);
    const moved = await git(remote.bare, ['rev-parse', BRANCH]);

    // The caller judged the old tip stale; the branch is elsewhere now.
    const fresh = await remote.makeClone();
    await put(fresh, `${IMAGES}/suspect-2.png`, 'new');
    await expect(pushFresh(fresh, 'new', old.sha)).rejects.toThrow(/moved .*not starting it over/);
    expect(await git(remote.bare, ['rev-parse', BRANCH])).toBe(moved);

    // Someone pushes between the fetch and the push: the lease refuses, nothing is replaced.
    await git(other, ['commit', '-q', '--allow-empty', '-m', 'racing']);
    await raceOnNextFetch(fresh, other, BRANCH);
    const run = commitAndPush({ cwd: fresh, branch: BRANCH, paths: [IMAGES], message: 'new', fresh: true });
    await expect(run).rejects.toThrow(/rejected: the branch moved while it was being started over/);
    expect(await remote.log(BRANCH)).toEqual(['racing', 'concurrent', 'old', 'initial']);
  });

  test('refuses paths outside the repository and bad branch names', async () => {
    await expect(
      commitAndPush({ cwd: remote.clone, branch: BRANCH, paths: ['../escape'], message: 'x' }),
    ).rejects.toThrow(/not inside the repository/);
    await expect(
      commitAndPush({ cwd: remote.clone, branch: 'bad..name', paths: ['README.md'], message: 'x' }),
    ).rejects.toThrow(/not a valid branch name/);
    await expect(
      commitAndPush({ cwd: remote.clone, branch: '--force', paths: ['README.md'], message: 'x' }),
    ).rejects.toThrow(/not a valid branch name/);
  });

  test('a push that fails for another reason is an error that never shows the token', async () => {
    await put(remote.clone, `${IMAGES}/suspect-1.png`, 'one');
    await git(remote.clone, ['remote', 'add', 'gone', join(remote.bare, '..', 'missing.git')]);
    const token = 'ghs_secretTOKEN123';
    const run = commitAndPush({
      cwd: remote.clone,
      branch: BRANCH,
      paths: [IMAGES],
      message: 'x',
      remote: 'gone',
      token,
    });
    await expect(run).rejects.toThrow(GitError);
    const error = await run.catch((e: Error) => e);
    expect(String(error)).not.toContain(token);
  });
});
