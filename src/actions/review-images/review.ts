import * as core from '@actions/core';
import { imagesFromReviewComments, parseRegenerateCommands } from '../../github/review.ts';
import { approve } from './approve.ts';
import type { Request } from './event.ts';
import { type Ctx, openPullRequest, reply } from './pull-request.ts';
import { type RegenerateRequest, type RegenerateSettings, regenerate } from './regenerate.ts';

/**
 * What a review event asks for, done: an approval recorded on the branch, or the images named by
 * a "changes requested" review or a `/regenerate` comment made again.
 */
export async function review(request: Request, token: string, settings: RegenerateSettings): Promise<void> {
  if (request.kind === 'ignore') {
    core.info(`Nothing to do: ${request.why}.`);
    return;
  }
  const commands = request.kind === 'comment' ? parseRegenerateCommands(request.body) : [];
  if (request.kind === 'comment' && commands.length === 0) {
    core.info('The comment holds no /regenerate command.');
    return;
  }
  const ctx = await openPullRequest(request, token);
  if (!ctx) return;
  if (request.kind === 'approve') return approve(ctx, request.actor, request.at, request.commit);
  const requests = request.kind === 'comment' ? commands : await changesRequested(ctx, request);
  if (requests.length) await regenerate(ctx, settings, request.actor, requests);
}

/** The images a "changes requested" review names: its comments on image files and its `/regenerate` lines. */
async function changesRequested(
  ctx: Ctx,
  request: Extract<Request, { kind: 'changes' }>,
): Promise<RegenerateRequest[]> {
  const comments = await ctx.octokit.paginate(ctx.octokit.rest.pulls.listCommentsForReview, {
    owner: ctx.owner,
    repo: ctx.repo,
    pull_number: request.pr,
    review_id: request.reviewId,
    per_page: 100,
  });
  const onImages = imagesFromReviewComments(
    comments.map((c) => ({ path: c.path ?? '', body: c.body ?? '' })),
  );
  const requests = [...onImages, ...parseRegenerateCommands(request.reviewBody)];
  if (requests.length === 0) {
    await reply(
      ctx,
      `@${request.actor} changes requested, but no comment is on an image file and the review holds no \`/regenerate\` line, so nothing was regenerated. Comment on the image in *Files changed*, or comment \`/regenerate suspect-2 <what to change>\`.`,
    );
  }
  return requests;
}
