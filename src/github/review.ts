import { IMAGE_ID_PATTERN, isCaseId } from '../cases/ids.ts';
import type { Manifest, Review } from '../cases/schema.ts';
import type { Octokit } from './pull-request.ts';

/**
 * Feedback goes into an image prompt; this cap keeps a long comment from pushing the prompt past
 * the model's limit and turning a review into a validation failure.
 */
export const MAX_FEEDBACK = 500;

export interface RegenerateCommand {
  imageId: string;
  /** Present when the command names the case (`/regenerate case-2025-01-19/suspect-2 …`), needed in multi-case PRs. */
  caseId?: string;
  /** Free text from the commenter; plain data, possibly empty. */
  feedback: string;
}

export interface ImageFeedback {
  caseId: string;
  imageId: string;
  feedback: string;
}

/** One line of feedback: control characters and line breaks become spaces, length is capped. */
function cleanFeedback(text: string): string {
  const flat = text
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > MAX_FEEDBACK ? `${flat.slice(0, MAX_FEEDBACK - 1)}…` : flat;
}

function joinFeedback(a: string, b: string): string {
  return cleanFeedback([a, b].filter(Boolean).join('; '));
}

const COMMAND = /^\/regenerate[ \t]+(\S+)(?:[ \t]+(.*))?$/;

/**
 * Finds `/regenerate <image-id> <feedback>` lines in a comment. Lines inside code fences are
 * examples, not commands. A target that is not exactly an image id (or `case-id/image-id`) is
 * ignored rather than guessed at. Several commands for one image are merged.
 */
export function parseRegenerateCommands(commentBody: string): RegenerateCommand[] {
  const byTarget = new Map<string, RegenerateCommand>();
  let inFence = false;
  for (const raw of commentBody.split(/\r?\n/)) {
    const line = raw.trim();
    if (/^(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const m = COMMAND.exec(line);
    if (!m) continue;
    const target = m[1] ?? '';
    const slash = target.indexOf('/');
    const caseId = slash >= 0 ? target.slice(0, slash) : undefined;
    const imageId = slash >= 0 ? target.slice(slash + 1) : target;
    if (!IMAGE_ID_PATTERN.test(imageId)) continue;
    if (caseId !== undefined && !isCaseId(caseId)) continue;
    const feedback = cleanFeedback(m[2] ?? '');
    const key = `${caseId ?? ''}/${imageId}`;
    const seen = byTarget.get(key);
    byTarget.set(key, {
      imageId,
      ...(caseId !== undefined ? { caseId } : {}),
      feedback: seen ? joinFeedback(seen.feedback, feedback) : feedback,
    });
  }
  return [...byTarget.values()];
}

const IMAGE_PATH = /^cases\/([^/]+)\/images\/([^/.]+)\.(?:png|jpe?g|webp)$/;

/** Parses `cases/<case-id>/images/<image-id>.<ext>`; undefined for anything else (manifests, other files). */
export function imageFromPath(path: string): { caseId: string; imageId: string } | undefined {
  const m = IMAGE_PATH.exec(path);
  if (!m) return undefined;
  const [, caseId = '', imageId = ''] = m;
  if (!isCaseId(caseId) || !IMAGE_ID_PATTERN.test(imageId)) return undefined;
  return { caseId, imageId };
}

/** Review comments on image files → one feedback per image (comments on one image are merged, in order). */
export function imagesFromReviewComments(comments: Array<{ path: string; body: string }>): ImageFeedback[] {
  const byImage = new Map<string, ImageFeedback>();
  for (const c of comments) {
    const image = imageFromPath(c.path);
    if (!image) continue;
    const key = `${image.caseId}/${image.imageId}`;
    const seen = byImage.get(key);
    byImage.set(key, { ...image, feedback: joinFeedback(seen?.feedback ?? '', c.body ?? '') });
  }
  return [...byImage.values()];
}

export interface ReviewStamp {
  /** The reviewer's login. */
  by: string;
  /** ISO time of the review. */
  at: string;
  pullRequest: number;
}

/**
 * Marks the manifest's images approved (all, or only `imageIds`). Placeholder images are left as
 * they are: approving a stand-in would hide that the real picture is still missing. Returns a new
 * manifest; the input is not modified.
 */
export function applyApproval(
  manifest: Manifest,
  stamp: ReviewStamp,
  imageIds?: readonly string[],
): Manifest {
  const only = imageIds ? new Set(imageIds) : undefined;
  const images: Manifest['images'] = {};
  for (const [id, entry] of Object.entries(manifest.images)) {
    const eligible = (!only || only.has(id)) && entry.provider !== 'placeholder';
    const review: Review = eligible
      ? { status: 'approved', by: stamp.by, at: stamp.at, pullRequest: stamp.pullRequest, feedback: null }
      : entry.review;
    images[id] = { ...entry, review };
  }
  return { ...manifest, images };
}

/**
 * Records a change request with its feedback on the named images. Images missing from the manifest
 * are ignored (the caller regenerates them anyway). Returns a new manifest.
 */
export function markChangesRequested(
  manifest: Manifest,
  requests: ReadonlyArray<{ imageId: string; feedback: string }>,
  stamp: ReviewStamp,
): Manifest {
  const feedback = new Map(requests.map((r) => [r.imageId, cleanFeedback(r.feedback)]));
  const images: Manifest['images'] = {};
  for (const [id, entry] of Object.entries(manifest.images)) {
    const text = feedback.get(id);
    images[id] =
      text === undefined
        ? entry
        : {
            ...entry,
            review: {
              status: 'changes-requested',
              by: stamp.by,
              at: stamp.at,
              pullRequest: stamp.pullRequest,
              feedback: text || null,
            },
          };
  }
  return { ...manifest, images };
}

/** Who may steer lineup; the review workflow's gate job applies the same rule in shell (image-review.yml). */
const WRITERS = new Set(['admin', 'maintain', 'write']);

/**
 * Whether `username` may steer the workflow on `owner/repo`. A user the API does not know (404)
 * has no permission; any other API failure is thrown so a refusal never hides an outage.
 */
export async function canWrite(
  octokit: Octokit,
  owner: string,
  repo: string,
  username: string,
): Promise<boolean> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
    // `permission` is the legacy level (maintain reports as write); `role_name` also names maintain.
    return WRITERS.has(data.permission) || WRITERS.has(data.role_name ?? '');
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'status' in error && error.status === 404)
      return false;
    throw error;
  }
}
