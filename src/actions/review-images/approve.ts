import { relative } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { readManifest, writeManifest } from '../../cases/manifest-store.ts';
import { manifestFile } from '../../cases/paths.ts';
import { fileAtCommit } from '../../github/branch-read.ts';
import { applyApproval } from '../../github/review.ts';
import { pushToPullRequest, refreshPullRequest } from '../publish.ts';
import { type Ctx, reply, stillOpen } from './pull-request.ts';

/** What approval needs of a manifest at an older commit: each image's sha256. Anything else reads as none. */
const manifestShas = z.looseObject({
  images: z.record(z.string(), z.looseObject({ sha256: z.string() }).optional().catch(undefined)),
});

/** image id -> sha256 in the case's manifest at `commit`; empty when it has none or it cannot be parsed. */
async function shasAtCommit(ctx: Ctx, commit: string, caseId: string): Promise<Map<string, string>> {
  const text = await fileAtCommit(
    ctx.root,
    commit,
    relative(ctx.root, manifestFile(ctx.root, caseId)),
    ctx.token,
  );
  const shas = new Map<string, string>();
  let parsed: unknown;
  try {
    parsed = text === null ? undefined : JSON.parse(text);
  } catch {
    return shas;
  }
  const manifest = manifestShas.safeParse(parsed);
  if (!manifest.success) return shas;
  for (const [id, entry] of Object.entries(manifest.data.images))
    if (entry?.sha256) shas.set(id, entry.sha256);
  return shas;
}

interface Approval {
  /** Manifests written. */
  paths: string[];
  /** Images left pending because they changed after the review, as `case/image`. */
  changed: string[];
  count: number;
}

/** Writes the approval into each case's manifest, for the open images the reviewer saw. */
async function recordApproval(ctx: Ctx, actor: string, at: string, reviewed: string): Promise<Approval> {
  const out: Approval = { paths: [], changed: [], count: 0 };
  for (const caseId of ctx.cases) {
    const manifest = await readManifest(ctx.root, caseId);
    // Images approved earlier keep that approval; this review decides the ones still open.
    const open = Object.entries(manifest.images)
      .filter(([, e]) => e.review.status !== 'approved')
      .map(([id]) => id);
    if (open.length === 0) continue;
    const seen = reviewed === ctx.tip ? null : await shasAtCommit(ctx, reviewed, caseId);
    const same = open.filter((id) => seen === null || seen.get(id) === manifest.images[id]?.sha256);
    out.changed.push(...open.filter((id) => !same.includes(id)).map((id) => `${caseId}/${id}`));
    if (same.length === 0) continue;
    const approved = applyApproval(manifest, { by: actor, at, pullRequest: ctx.pr }, same);
    out.count += same.filter((id) => approved.images[id]?.review.status === 'approved').length;
    await writeManifest(ctx.root, approved);
    out.paths.push(relative(ctx.root, manifestFile(ctx.root, caseId)));
  }
  return out;
}

/**
 * Approves the open images the reviewer saw: when the branch moved after the review (a
 * /regenerate pushed meanwhile), only images whose sha256 at the reviewed commit equals the one at
 * the tip; the others stay pending and the reply names them.
 */
export async function approve(ctx: Ctx, actor: string, at: string, reviewed: string | null): Promise<void> {
  if (reviewed === null) {
    await reply(
      ctx,
      `@${actor} this review names no commit, so it cannot tell which images you saw; nothing was approved. Approve again from *Files changed*.`,
    );
    return;
  }
  const { paths, changed, count } = await recordApproval(ctx, actor, at, reviewed);
  const pendingNote = changed.length
    ? `Left pending because they changed after your review (at ${reviewed.slice(0, 12)}): ${changed.map((c) => `\`${c}\``).join(', ')}. Look at the new version and approve again.`
    : '';
  if (paths.length === 0) {
    if (changed.length) {
      core.info(`Nothing approved: ${changed.join(', ')} changed after the review.`);
      await reply(ctx, `@${actor} nothing was approved. ${pendingNote}`);
    } else core.info('Every image of this pull request is already approved.');
    return;
  }
  if (!(await stillOpen(ctx, actor, 'approval'))) return;
  const commit = await pushToPullRequest(
    ctx,
    paths,
    `lineup: ${count} image(s) approved by @${actor} in #${ctx.pr}`,
  );
  core.info(`Approved ${count} image(s) by @${actor}; pushed ${commit.sha.slice(0, 12)} to ${ctx.branch}`);
  await refreshPullRequest(ctx, commit.sha);
  if (changed.length) core.info(`Left pending (changed after the review): ${changed.join(', ')}`);
  // The reply is the signal that merging is now safe: the approval is on the branch.
  await reply(
    ctx,
    `@${actor} approved ${count} image(s); recorded at ${commit.sha.slice(0, 12)}. ` +
      (pendingNote || 'The approval is on the branch: this pull request can be merged now.'),
  );
}
