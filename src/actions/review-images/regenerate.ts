import { join } from 'node:path';
import * as core from '@actions/core';
import type { BatchSummary, PlannedImage } from '../../batch/types.ts';
import { readCase } from '../../cases/case-store.ts';
import { updateManifest } from '../../cases/manifest-store.ts';
import { escapeCell } from '../../github/gallery.ts';
import { annotateFailures } from '../../github/summary.ts';
import { prepareRun } from '../../run/prepare-run.ts';
import type { Shutdown } from '../cancel.ts';
import { logEvents, progressPath } from '../gallery-images.ts';
import { actionFace } from '../inputs.ts';
import { exitStatus, pushToPullRequest, refreshPullRequest } from '../publish.ts';
import { type Ctx, reply, stillOpen } from './pull-request.ts';

/** An image a reviewer asked to have made again, with what to change. */
export type RegenerateRequest = { caseId?: string; imageId: string; feedback: string };

/** How regeneration runs: the action's provider, model and key, and how a runner may end it early. */
export interface RegenerateSettings {
  apiKey: string | undefined;
  provider: 'gemini' | 'placeholder' | undefined;
  model: string | undefined;
  /** A cancel or `deadline-minutes`: nothing new starts, and what was regenerated is pushed. */
  shutdown: Shutdown;
}

/** The images to regenerate, checked against the PR's cases so a comment can never reach outside them. */
async function resolveTargets(
  ctx: Ctx,
  requests: readonly RegenerateRequest[],
): Promise<{ images: PlannedImage[]; problems: string[] }> {
  const images: PlannedImage[] = [];
  const problems: string[] = [];
  for (const r of requests) {
    const caseId = r.caseId ?? (ctx.cases.length === 1 ? ctx.cases[0] : undefined);
    if (!caseId) {
      problems.push(
        `\`${r.imageId}\`: this pull request spans several cases; name one, e.g. \`${ctx.cases[0]}/${r.imageId}\``,
      );
      continue;
    }
    if (!ctx.cases.includes(caseId)) {
      problems.push(`\`${caseId}\` is not a case of this pull request`);
      continue;
    }
    const data = await readCase(ctx.root, caseId);
    if (r.imageId !== 'scene' && !data.suspects.some((s) => s.id === r.imageId)) {
      problems.push(`\`${caseId}\` has no \`${r.imageId}\``);
      continue;
    }
    // The feedback is a string field of the plan; it reaches the prompt and nothing else.
    const feedback = r.feedback ? { feedback: r.feedback } : {};
    images.push(
      r.imageId === 'scene'
        ? { type: 'scene', caseId, ...feedback }
        : { type: 'suspect', caseId, suspectId: r.imageId, ...feedback },
    );
  }
  return { images, problems };
}

/**
 * Generates `images` again through the run entry every face uses (prepareRun): never a placeholder
 * without asking, the action's spelling of the inputs, forced since the files exist.
 */
async function runRegeneration(
  ctx: Ctx,
  settings: RegenerateSettings,
  images: PlannedImage[],
): Promise<BatchSummary | undefined> {
  const setup = await prepareRun(ctx.root, settings, actionFace(settings.apiKey));
  const run = await setup.choose({ scanAll: true, fix: true, found: images, force: true });
  let grouped = false;
  const result = await run
    .run({
      // Two PRs regenerated on one day must not both claim batch-<day>-001 (each commits its progress file).
      batchIdScope: `review-${process.env.GITHUB_RUN_ID || 'local'}-${process.env.GITHUB_RUN_ATTEMPT || '1'}-pr${ctx.pr}`,
      events: logEvents(),
      signal: settings.shutdown.signal,
      abandon: settings.shutdown.abandon,
      onBatchId: (batchId) => {
        core.setOutput('batch-id', batchId);
        core.startGroup(`Batch ${batchId}`);
        grouped = true;
      },
    })
    .finally(() => {
      if (grouped) core.endGroup();
    });
  return result.batchId === null ? undefined : result;
}

/** The regenerated images await review again; the feedback that produced them is kept for the reviewer. */
async function keepFeedback(ctx: Ctx, images: PlannedImage[], result: BatchSummary): Promise<void> {
  const feedbackOf = new Map(
    images.map((i) => [`${i.caseId}/${i.suspectId ?? 'scene'}`, i.feedback ?? null]),
  );
  for (const g of result.generated) {
    await updateManifest(ctx.root, g.caseId, (m) => {
      const entry = m.images[g.imageId];
      if (entry)
        entry.review = { ...entry.review, feedback: feedbackOf.get(`${g.caseId}/${g.imageId}`) ?? null };
    });
  }
}

const nameOf = (caseId: string, imageId: string) => `\`${caseId}/${imageId}\``;

/** What the reply says was made, what failed, and what a cancel or the deadline left undone. */
function outcomeLines(actor: string, images: PlannedImage[], result: BatchSummary, sha: string): string[] {
  const done = result.generated.map((g) => nameOf(g.caseId, g.imageId));
  const failed = result.failures.map(
    (f) => `${nameOf(f.caseId, f.suspectId ?? 'scene')} (${escapeCell(f.errorType)})`,
  );
  const ended = new Set([...done, ...result.failures.map((f) => nameOf(f.caseId, f.suspectId ?? 'scene'))]);
  const left = images.map((i) => nameOf(i.caseId, i.suspectId ?? 'scene')).filter((n) => !ended.has(n));
  return [
    `Regenerated for @${actor}: ${done.join(', ') || 'none'}, at ${sha.slice(0, 12)}.`,
    ...(failed.length ? [`Failed: ${failed.join(', ')}; see the workflow run.`] : []),
    ...(result.status === 'stopped' && left.length
      ? [
          `Stopped early (${result.stopReason ?? 'stopped'}) before ${left.join(', ')}; comment \`/regenerate\` again for ${left.length === 1 ? 'it' : 'them'}.`,
        ]
      : []),
  ];
}

export async function regenerate(
  ctx: Ctx,
  settings: RegenerateSettings,
  actor: string,
  requests: readonly RegenerateRequest[],
): Promise<void> {
  const { images, problems } = await resolveTargets(ctx, requests);
  if (images.length === 0) {
    await reply(ctx, `@${actor} nothing to regenerate.\n\n${problems.map((p) => `- ${p}`).join('\n')}`);
    return;
  }
  const result = await runRegeneration(ctx, settings, images);
  if (!result) return;
  annotateFailures(result.failures);
  await keepFeedback(ctx, images, result);
  if (!(await stillOpen(ctx, actor, 'regeneration'))) return;
  const touched = [...new Set(images.map((i) => i.caseId))];
  const commit = await pushToPullRequest(
    ctx,
    [...touched.map((id) => join('cases', id, 'images')), progressPath(result.batchId)],
    `lineup: regenerated ${result.generated.length} image(s) for #${ctx.pr} (${result.batchId})`,
  );
  await refreshPullRequest(ctx, commit.sha, { batchId: result.batchId, summary: result });

  await reply(
    ctx,
    [...outcomeLines(actor, images, result, commit.sha), ...problems.map((p) => `- skipped: ${p}`)].join(
      '\n',
    ),
  );
  exitStatus(result, {
    stopped: `Stopped early: ${result.stopReason ?? 'stopped'}`,
    failed: `${result.failed} image(s) failed to regenerate`,
  });
}
