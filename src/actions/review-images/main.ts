import * as core from '@actions/core';
import { z } from 'zod';
import { imagesFromReviewComments, parseRegenerateCommands } from '../../github/review.ts';
import { apiKeyInput, input, parseInputs, runFace } from '../inputs.ts';
import { approve } from './approve.ts';
import { type Request, readEvent } from './event.ts';
import { type Ctx, openPullRequest, reply } from './pull-request.ts';
import { type RegenerateRequest, type RegenerateSettings, regenerate } from './regenerate.ts';

/** review-images's inputs as action.yml names them (the key is read apart, as a secret). */
const schema = z.object({
  'event-path': input.text(),
  'github-token': input.text(),
  provider: input.oneOf('provider', ['gemini', 'placeholder'] as const),
  model: input.text(),
});

/**
 * The review-images action: an approving review records the approval on the branch; changes
 * requested (comments on image files, `/regenerate` lines) or a `/regenerate` comment make the
 * images again through the common run entry.
 */
export async function run(): Promise<void> {
  const apiKey = apiKeyInput();
  const token = core.getInput('github-token').trim();
  await runFace([apiKey, token], async () => {
    const inputs = parseInputs(schema);
    const settings: RegenerateSettings = { apiKey, provider: inputs.provider, model: inputs.model };
    await review(await readEvent(inputs['event-path']), token, settings);
  });
}

async function review(request: Request, token: string, settings: RegenerateSettings): Promise<void> {
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
