import { join } from 'node:path';
import * as core from '@actions/core';
import type { BatchEvents } from '../batch/events.ts';
import { type Progress, readProgress } from '../batch/progress.ts';
import type { BatchSummary } from '../batch/types.ts';
import { readCase } from '../cases/case-store.ts';
import { readManifest } from '../cases/manifest-store.ts';
import { type GalleryFailure, type GalleryImage, galleryImagesFromManifest } from '../github/gallery.ts';
import { parseImagesBranch } from '../github/refs.ts';
import { buildPrompt } from '../prompts/index.ts';

/**
 * The rows a pull request shows for its cases: every image still awaiting a decision, images
 * approved in this very PR, and the images just generated. Images approved earlier (in another
 * PR) are not this PR's business and stay out.
 */
export async function galleryForCases(
  root: string,
  caseIds: readonly string[],
  options: { pullRequest?: number; generated?: ReadonlyArray<{ caseId: string; imageId: string }> } = {},
): Promise<GalleryImage[]> {
  const images: GalleryImage[] = [];
  for (const caseId of caseIds) {
    const data = await readCase(root, caseId);
    const manifest = await readManifest(root, caseId);
    const fresh = new Set((options.generated ?? []).filter((g) => g.caseId === caseId).map((g) => g.imageId));
    const only = Object.entries(manifest.images)
      .filter(
        ([id, e]) =>
          fresh.has(id) ||
          e.review.status !== 'approved' ||
          (options.pullRequest !== undefined && e.review.pullRequest === options.pullRequest),
      )
      .map(([id]) => id);
    // The prompt shown is the one sent: the reviewer's feedback is part of it.
    const promptFor = (imageId: string) => {
      const feedback = manifest.images[imageId]?.review.feedback;
      return buildPrompt(data, imageId, feedback ? { feedback } : {}).prompt;
    };
    images.push(...galleryImagesFromManifest(data, manifest, promptFor, only));
  }
  return images;
}

export function galleryFailures(summary: Pick<BatchSummary, 'failures'>): GalleryFailure[] {
  return summary.failures.map((f) => ({
    caseId: f.caseId,
    imageId: f.suspectId ?? 'scene',
    error: f.error,
    errorType: f.errorType,
  }));
}

/** Every case a batch touched, in first-seen order, from its progress file. */
export async function casesOfBatch(root: string, batchId: string): Promise<string[]> {
  return casesOfProgress(await readProgress(root, batchId));
}

/** The cases a batch's images belong to, each once (completed, pending, then failed ones). */
export function casesOfProgress(p: Progress): string[] {
  return [...new Set([...p.completed, ...p.pending, ...p.failed].map((i) => i.caseId))];
}

/**
 * The cases an `images/…` branch is about: `images/<case-id>` is that case; `images/<batch-id>`
 * holds the batch's progress file, which lists its cases. Anything else is not a lineup branch.
 */
export async function casesOfBranch(root: string, branch: string): Promise<string[]> {
  const named = parseImagesBranch(branch);
  if (named?.kind === 'case') return [named.caseId];
  if (named?.kind === 'batch') return casesOfBatch(root, named.batchId);
  return [];
}

/** The batch's log lines go to the CI log as they happen. */
export function logEvents(): BatchEvents {
  return { log: (line) => core.info(line) };
}

export function progressPath(batchId: string): string {
  return join('reports', 'progress', `${batchId}.json`);
}
