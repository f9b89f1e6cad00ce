import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import * as core from '@actions/core';
import type { BatchSummary, PlannedImage } from '../../batch/types.ts';
import { readCase } from '../../cases/case-store.ts';
import { readManifest, updateManifest, writeManifest } from '../../cases/manifest-store.ts';
import { manifestFile } from '../../cases/paths.ts';
import { loadConfig } from '../../config/load-config.ts';
import type { ConfigInput } from '../../config/schema.ts';
import { InputError } from '../../errors.ts';
import { buildPullRequestBody, buildSummaryMarkdown, escapeCell } from '../../github/gallery.ts';
import { commitAndPush } from '../../github/git.ts';
import { clampBody, commentOnIssue, makeOctokit, type Octokit } from '../../github/pull-request.ts';
import {
  applyApproval,
  canWrite,
  type ImageFeedback,
  imagesFromReviewComments,
  parseRegenerateCommands,
} from '../../github/review.ts';
import { annotateFailures, annotateVerdicts, writeJobSummary } from '../../github/summary.ts';
import { createQualityCheck } from '../../quality/index.ts';
import { chooseProvider, runBatch } from '../../run/run-batch.ts';
import { fetchBranch, fileAtCommit, overlayFromCommit } from '../branch-state.ts';
import {
  casesOfBranch,
  galleryFailures,
  galleryForCases,
  logEvents,
  progressPath,
} from '../gallery-images.ts';
import { failureMessage, maskSecrets, oneOf, optionalInput, repository, workspace } from '../inputs.ts';

type Json = Record<string, unknown>;

function obj(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** What the event asks for, reduced to the few fields that decide anything. */
type Request =
  | { kind: 'approve'; pr: number; actor: string; at: string; commit: string | null }
  | { kind: 'changes'; pr: number; actor: string; at: string; reviewId: number; reviewBody: string }
  | { kind: 'comment'; pr: number; actor: string; at: string; body: string }
  | { kind: 'ignore'; why: string };

/** Reads the event payload; the event name comes from GITHUB_EVENT_NAME, else from the payload's shape. */
function parseEvent(payload: Json, eventName: string | undefined): Request {
  const review = obj(payload.review);
  const comment = obj(payload.comment);
  const name = eventName || (review ? 'pull_request_review' : comment ? 'issue_comment' : '');
  const now = new Date().toISOString();
  if (name === 'pull_request_review' && review) {
    const pr = num(obj(payload.pull_request)?.number);
    const actor = str(obj(review.user)?.login);
    if (pr === undefined || !actor)
      return { kind: 'ignore', why: 'the review event has no PR number or reviewer' };
    const state = (str(review.state) ?? '').toLowerCase();
    const at = str(review.submitted_at) ?? now;
    if (state === 'approved') {
      // The commit the reviewer looked at; GitHub always sends it. Anything not a sha counts as unknown.
      const commit = str(review.commit_id);
      const known = commit && /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/i.test(commit) ? commit.toLowerCase() : null;
      return { kind: 'approve', pr, actor, at, commit: known };
    }
    if (state === 'changes_requested') {
      const reviewId = num(review.id);
      if (reviewId === undefined) return { kind: 'ignore', why: 'the review has no id' };
      return { kind: 'changes', pr, actor, at, reviewId, reviewBody: str(review.body) ?? '' };
    }
    return { kind: 'ignore', why: `a review in state ${JSON.stringify(state)} decides nothing` };
  }
  if (name === 'issue_comment' && comment) {
    const issue = obj(payload.issue);
    const pr = num(issue?.number);
    if (pr === undefined || !obj(issue?.pull_request))
      return { kind: 'ignore', why: 'not a pull request comment' };
    const actor = str(obj(comment.user)?.login);
    if (!actor) return { kind: 'ignore', why: 'the comment has no author' };
    return { kind: 'comment', pr, actor, at: str(comment.created_at) ?? now, body: str(comment.body) ?? '' };
  }
  return { kind: 'ignore', why: `event ${JSON.stringify(name)} is not a review or a comment` };
}

interface Ctx {
  root: string;
  owner: string;
  repo: string;
  octokit: Octokit;
  token: string;
  apiKey: string | undefined;
  pr: number;
  branch: string;
  /** The branch tip the run works on. */
  tip: string;
  cases: string[];
}

async function reply(ctx: Pick<Ctx, 'octokit' | 'owner' | 'repo' | 'pr'>, body: string): Promise<void> {
  await commentOnIssue(ctx.octokit, { owner: ctx.owner, repo: ctx.repo, number: ctx.pr }, body);
}

type Recording = 'approval' | 'regeneration';

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
async function stillOpen(ctx: Ctx, actor: string, what: Recording): Promise<boolean> {
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

async function updateBody(ctx: Ctx, sha: string, extra: { batchId?: string; summary?: BatchSummary } = {}) {
  const images = await galleryForCases(ctx.root, ctx.cases, {
    pullRequest: ctx.pr,
    ...(extra.summary ? { generated: extra.summary.generated } : {}),
  });
  if (images.length === 0) return;
  if (extra.summary) annotateVerdicts(images, extra.summary.generated);
  const options = {
    owner: ctx.owner,
    repo: ctx.repo,
    sha,
    images,
    ...(extra.batchId ? { batchId: extra.batchId } : {}),
    ...(extra.summary ? { failures: galleryFailures(extra.summary) } : {}),
  };
  // Only the body: the title may have been edited by a person.
  await ctx.octokit.rest.pulls.update({
    owner: ctx.owner,
    repo: ctx.repo,
    pull_number: ctx.pr,
    body: clampBody(buildPullRequestBody(options)),
  });
  await writeJobSummary(buildSummaryMarkdown({ ...options, title: `lineup review of #${ctx.pr}` }));
}

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
  for (const [id, entry] of Object.entries(obj(obj(parsed)?.images) ?? {})) {
    const sha = str(obj(entry)?.sha256);
    if (sha) shas.set(id, sha);
  }
  return shas;
}

/**
 * Approves the open images the reviewer saw: when the branch moved after the review (a
 * /regenerate pushed meanwhile), only images whose sha256 at the reviewed commit equals the one at
 * the tip; the others stay pending and the reply names them.
 */
async function approve(ctx: Ctx, actor: string, at: string, reviewed: string | null): Promise<void> {
  if (reviewed === null) {
    await reply(
      ctx,
      `@${actor} this review names no commit, so it cannot tell which images you saw; nothing was approved. Approve again from *Files changed*.`,
    );
    return;
  }
  const paths: string[] = [];
  const changed: string[] = [];
  let count = 0;
  for (const caseId of ctx.cases) {
    const manifest = await readManifest(ctx.root, caseId);
    // Images approved earlier keep that approval; this review decides the ones still open.
    const open = Object.entries(manifest.images)
      .filter(([, e]) => e.review.status !== 'approved')
      .map(([id]) => id);
    if (open.length === 0) continue;
    const seen = reviewed === ctx.tip ? null : await shasAtCommit(ctx, reviewed, caseId);
    const same = open.filter((id) => seen === null || seen.get(id) === manifest.images[id]?.sha256);
    changed.push(...open.filter((id) => !same.includes(id)).map((id) => `${caseId}/${id}`));
    if (same.length === 0) continue;
    const approved = applyApproval(manifest, { by: actor, at, pullRequest: ctx.pr }, same);
    count += same.filter((id) => approved.images[id]?.review.status === 'approved').length;
    await writeManifest(ctx.root, approved);
    paths.push(relative(ctx.root, manifestFile(ctx.root, caseId)));
  }
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
  const commit = await commitAndPush({
    cwd: ctx.root,
    branch: ctx.branch,
    paths,
    message: `lineup: ${count} image(s) approved by @${actor} in #${ctx.pr}`,
    token: ctx.token,
  });
  core.info(`Approved ${count} image(s) by @${actor}; pushed ${commit.sha.slice(0, 12)} to ${ctx.branch}`);
  await updateBody(ctx, commit.sha);
  if (changed.length) core.info(`Left pending (changed after the review): ${changed.join(', ')}`);
  // The reply is the signal that merging is now safe: the approval is on the branch.
  await reply(
    ctx,
    `@${actor} approved ${count} image(s); recorded at ${commit.sha.slice(0, 12)}. ` +
      (pendingNote || 'The approval is on the branch: this pull request can be merged now.'),
  );
}

/** The images to regenerate, checked against the PR's cases so a comment can never reach outside them. */
async function resolveTargets(
  ctx: Ctx,
  requests: ReadonlyArray<{ caseId?: string; imageId: string; feedback: string }>,
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

async function regenerate(
  ctx: Ctx,
  actor: string,
  requests: ReadonlyArray<{ caseId?: string; imageId: string; feedback: string }>,
): Promise<void> {
  const { images, problems } = await resolveTargets(ctx, requests);
  if (images.length === 0) {
    await reply(ctx, `@${actor} nothing to regenerate.\n\n${problems.map((p) => `- ${p}`).join('\n')}`);
    return;
  }
  const overrides: ConfigInput = {
    ...(optionalInput('model') ? { model: optionalInput('model') } : {}),
    ...(oneOf('provider', ['gemini', 'placeholder'] as const)
      ? { provider: oneOf('provider', ['gemini', 'placeholder'] as const) }
      : {}),
  };
  const config = await loadConfig(ctx.root, undefined, overrides);
  const provider = chooseProvider(config, {
    ...(ctx.apiKey ? { apiKey: ctx.apiKey } : {}),
    allowFallback: false,
  });
  let grouped = false;
  const result = await runBatch({
    root: ctx.root,
    config,
    provider,
    source: { kind: 'images', images },
    force: true,
    // Two PRs regenerated on one day must not both claim batch-<day>-001 (each commits its progress file).
    batchIdScope: `review-${process.env.GITHUB_RUN_ID || 'local'}-${process.env.GITHUB_RUN_ATTEMPT || '1'}-pr${ctx.pr}`,
    events: logEvents(),
    check: createQualityCheck(ctx.root),
    onBatchId: (batchId) => {
      core.setOutput('batch-id', batchId);
      core.startGroup(`Batch ${batchId}`);
      grouped = true;
    },
  }).finally(() => {
    if (grouped) core.endGroup();
  });
  if (result.batchId === null) return;
  annotateFailures(result.failures);

  // The regenerated images await review again; the feedback that produced them is kept for the reviewer.
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
  if (!(await stillOpen(ctx, actor, 'regeneration'))) return;
  const touched = [...new Set(images.map((i) => i.caseId))];
  const commit = await commitAndPush({
    cwd: ctx.root,
    branch: ctx.branch,
    paths: [...touched.map((id) => join('cases', id, 'images')), progressPath(result.batchId)],
    message: `lineup: regenerated ${result.generated.length} image(s) for #${ctx.pr} (${result.batchId})`,
    token: ctx.token,
  });
  await updateBody(ctx, commit.sha, { batchId: result.batchId, summary: result });

  const done = result.generated.map((g) => `\`${g.caseId}/${g.imageId}\``).join(', ') || 'none';
  const failed = result.failures.map(
    (f) => `\`${f.caseId}/${f.suspectId ?? 'scene'}\` (${escapeCell(f.errorType)})`,
  );
  await reply(
    ctx,
    [
      `Regenerated for @${actor}: ${done}, at ${commit.sha.slice(0, 12)}.`,
      ...(failed.length ? [`Failed: ${failed.join(', ')}; see the workflow run.`] : []),
      ...problems.map((p) => `- skipped: ${p}`),
    ].join('\n'),
  );
  if (result.exitCode === 3) core.warning(`Stopped early: ${result.stopReason ?? 'stopped'}`);
  else if (result.exitCode !== 0) core.setFailed(`${result.failed} image(s) failed to regenerate`);
}

async function review(apiKey: string | undefined, token: string): Promise<void> {
  const root = workspace();
  const eventPath = optionalInput('event-path') ?? process.env.GITHUB_EVENT_PATH;
  if (!eventPath)
    throw new InputError('no event to read: set event-path or GITHUB_EVENT_PATH', { field: 'event-path' });
  const payload = obj(JSON.parse(await readFile(eventPath, 'utf8'))) ?? {};
  const request = parseEvent(payload, process.env.GITHUB_EVENT_NAME);
  if (request.kind === 'ignore') {
    core.info(`Nothing to do: ${request.why}.`);
    return;
  }
  const commands = request.kind === 'comment' ? parseRegenerateCommands(request.body) : [];
  if (request.kind === 'comment' && commands.length === 0) {
    core.info('The comment holds no /regenerate command.');
    return;
  }
  if (!token) throw new InputError('github-token is required', { field: 'github-token' });
  const { owner, repo } = repository();
  const octokit = makeOctokit(token);
  const { data: pull } = await octokit.rest.pulls.get({ owner, repo, pull_number: request.pr });
  const branch = pull.head.ref;
  if (!branch.startsWith('images/') || pull.head.repo?.full_name !== `${owner}/${repo}`) {
    core.info(`#${request.pr} is not a lineup image pull request of ${owner}/${repo}; nothing to do.`);
    return;
  }
  const target = { octokit, owner, repo, pr: request.pr };
  if (!(await canWrite(octokit, owner, repo, request.actor))) {
    core.info(`@${request.actor} has no write permission; the request is refused.`);
    await reply(
      target,
      `@${request.actor} only people with write access to this repository can approve or regenerate images here; nothing was changed.`,
    );
    return;
  }
  // Approved and merged at once: the run starts after the merge. Say so rather than stay silent.
  if (pull.state !== 'open') {
    core.info(`#${request.pr} is ${pull.state}; nothing is pushed.`);
    await notRecorded(target, request.actor, request.kind === 'approve' ? 'approval' : 'regeneration', pull);
    return;
  }

  // Work on the branch's own state of the cases, whatever the checkout holds.
  const tip = await fetchBranch(root, branch, token);
  if (!tip)
    throw new InputError(`the branch ${branch} of #${request.pr} does not exist`, { field: 'branch' });
  const batchName = branch.slice('images/'.length);
  await overlayFromCommit(root, tip, [progressPath(batchName)]);
  const cases = await casesOfBranch(root, branch);
  if (cases.length === 0) throw new InputError(`${branch} names no case and no batch`, { field: 'branch' });
  await overlayFromCommit(
    root,
    tip,
    cases.flatMap((id) => [join('cases', id, 'case.json'), join('cases', id, 'images')]),
  );
  const ctx: Ctx = { root, owner, repo, octokit, token, apiKey, pr: request.pr, branch, tip, cases };

  if (request.kind === 'approve') return approve(ctx, request.actor, request.at, request.commit);
  if (request.kind === 'comment') return regenerate(ctx, request.actor, commands);

  const comments = await octokit.paginate(octokit.rest.pulls.listCommentsForReview, {
    owner,
    repo,
    pull_number: request.pr,
    review_id: request.reviewId,
    per_page: 100,
  });
  const onImages: ImageFeedback[] = imagesFromReviewComments(
    comments.map((c) => ({ path: c.path ?? '', body: c.body ?? '' })),
  );
  const fromBody = parseRegenerateCommands(request.reviewBody);
  const requests = [...onImages, ...fromBody];
  if (requests.length === 0) {
    await reply(
      ctx,
      `@${request.actor} changes requested, but no comment is on an image file and the review holds no \`/regenerate\` line, so nothing was regenerated. Comment on the image in *Files changed*, or comment \`/regenerate suspect-2 <what to change>\`.`,
    );
    return;
  }
  return regenerate(ctx, request.actor, requests);
}

export async function run(): Promise<void> {
  let secrets: Array<string | undefined> = [];
  try {
    const apiKey = core.getInput('gemini-api-key').trim() || process.env.GEMINI_API_KEY?.trim() || undefined;
    const token = core.getInput('github-token').trim();
    secrets = [apiKey, token];
    maskSecrets(apiKey, token);
    await review(apiKey, token);
  } catch (error) {
    core.setFailed(failureMessage(error, secrets));
  }
}
