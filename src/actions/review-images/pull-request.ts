import { join } from 'node:path';
import * as core from '@actions/core';
import { InputError } from '../../errors.ts';
import { fetchBranch, overlayFromCommit } from '../../github/branch-read.ts';
import { commentOnIssue, makeOctokit } from '../../github/pull-request.ts';
import { isImagesBranch, parseImagesBranch } from '../../github/refs.ts';
import { canWrite } from '../../github/review.ts';
import { casesOfBranch, progressPath } from '../gallery-images.ts';
import { repository, workspace } from '../inputs.ts';
import type { ReviewedPullRequest } from '../publish.ts';

/**
 * The pull request a review or comment is about, once it is known to be a lineup image pull
 * request of this repository that the actor may change: its branch, tip and cases, with the
 * branch's own state of those cases in the working tree. Also the replies on it.
 */

export interface Ctx extends ReviewedPullRequest {
  token: string;
  branch: string;
  /** The branch tip the run works on. */
  tip: string;
}

export async function reply(
  ctx: Pick<Ctx, 'octokit' | 'owner' | 'repo' | 'pr'>,
  body: string,
): Promise<void> {
  await commentOnIssue(ctx.octokit, { owner: ctx.owner, repo: ctx.repo, number: ctx.pr }, body);
}

export type Recording = 'approval' | 'regeneration';

/**
 * Replies that `what` was not recorded because the PR was merged or closed before lineup pushed
 * it, and what to do instead. Pushing anyway would land on a branch main no longer follows: a
 * merged PR keeps `pending` on main whatever the branch says afterwards.
 */
async function notRecorded(
  ctx: Pick<Ctx, 'octokit' | 'owner' | 'repo' | 'pr'>,
  actor: string,
  what: Recording,
  pull: { merged?: boolean | null; merged_at?: string | null },
): Promise<void> {
  const merged = pull.merged === true || Boolean(pull.merged_at);
  const noun = what === 'approval' ? 'your approval was' : 'the regeneration was';
  const headline = `@${actor} ${noun} not recorded: #${ctx.pr} was ${merged ? 'merged' : 'closed'} before lineup could push it to the branch, so nothing was pushed.`;
  const advice = !merged
    ? `Reopen the pull request and ${what === 'approval' ? 'approve it again' : 'repeat the `/regenerate` command'}.`
    : what === 'approval'
      ? "Its images stay `pending` on the default branch, where the nightly scan (or `npx tsx scripts/regenerate-missing-images.ts --scan-all`) lists them as awaiting review. Next time, approve first and merge only after lineup's reply that the approval is recorded."
      : "The default branch keeps the images as merged. To replace one now, run the *Generate images* workflow for the case with `force` (it opens a new pull request); next time, wait for lineup's reply before merging.";
  core.warning(`The ${what} was not recorded: #${ctx.pr} is ${merged ? 'merged' : 'closed'}.`, {
    title: 'Not recorded',
  });
  await reply(ctx, `${headline} ${advice}`);
}

/**
 * Asks GitHub for the PR's state right before a push: approving or regenerating takes from
 * seconds to minutes after the first check, and a PR merged meanwhile must not get a push that
 * main never sees. False (after replying) when the PR is no longer open.
 */
export async function stillOpen(ctx: Ctx, actor: string, what: Recording): Promise<boolean> {
  const { data } = await ctx.octokit.rest.pulls.get({
    owner: ctx.owner,
    repo: ctx.repo,
    pull_number: ctx.pr,
  });
  if (data.state === 'open') return true;
  core.info(`#${ctx.pr} is ${data.state} now; the ${what} is not pushed.`);
  await notRecorded(ctx, actor, what, data);
  return false;
}

/**
 * The context of a request on pull request `pr`, or undefined (after saying why, and replying
 * where the actor should know) when lineup has nothing to do there.
 */
export async function openPullRequest(
  request: { pr: number; actor: string; kind: 'approve' | 'changes' | 'comment' },
  token: string,
): Promise<Ctx | undefined> {
  const root = workspace();
  if (!token) throw new InputError('github-token is required', { field: 'github-token' });
  const { owner, repo } = repository();
  const octokit = makeOctokit(token);
  const { data: pull } = await octokit.rest.pulls.get({ owner, repo, pull_number: request.pr });
  const branch = pull.head.ref;
  if (!isImagesBranch(branch) || pull.head.repo?.full_name !== `${owner}/${repo}`) {
    core.info(`#${request.pr} is not a lineup image pull request of ${owner}/${repo}; nothing to do.`);
    return undefined;
  }
  const target = { octokit, owner, repo, pr: request.pr };
  if (!(await canWrite(octokit, owner, repo, request.actor))) {
    core.info(`@${request.actor} has no write permission; the request is refused.`);
    await reply(
      target,
      `@${request.actor} only people with write access to this repository can approve or regenerate images here; nothing was changed.`,
    );
    return undefined;
  }
  // Approved and merged at once: the run starts after the merge. Say so rather than stay silent.
  if (pull.state !== 'open') {
    core.info(`#${request.pr} is ${pull.state}; nothing is pushed.`);
    await notRecorded(target, request.actor, request.kind === 'approve' ? 'approval' : 'regeneration', pull);
    return undefined;
  }
  const { tip, cases } = await checkOutBranch(root, branch, request.pr, token);
  return { root, owner, repo, octokit, token, pr: request.pr, branch, tip, cases };
}

/** Works on the branch's own state of the cases, whatever the checkout holds. */
async function checkOutBranch(
  root: string,
  branch: string,
  pr: number,
  token: string,
): Promise<{ tip: string; cases: string[] }> {
  const tip = await fetchBranch(root, branch, token);
  if (!tip) throw new InputError(`the branch ${branch} of #${pr} does not exist`, { field: 'branch' });
  const named = parseImagesBranch(branch);
  // images/<batch-id> lists its cases in the batch's progress file, which only the branch holds.
  if (named?.kind === 'batch') await overlayFromCommit(root, tip, [progressPath(named.batchId)]);
  const cases = await casesOfBranch(root, branch);
  if (cases.length === 0) throw new InputError(`${branch} names no case and no batch`, { field: 'branch' });
  await overlayFromCommit(
    root,
    tip,
    cases.flatMap((id) => [join('cases', id, 'case.json'), join('cases', id, 'images')]),
  );
  return { tip, cases };
}
