/*
 * The image types every layer shares: what a batch is asked to make, and the shapes of a finished
 * image. They live here, below cases, providers, scan and the engine, so that none of those has
 * to import another for a type (docs/ARCHITECTURE.md, "Layers").
 */

export type AspectRatio = '1:1' | '3:4' | '16:9';

export type ImageMimeType = 'image/png' | 'image/jpeg' | 'image/webp';

/** One image the batch must produce. `imageId` is `suspect-N` or `scene`. */
export interface PlannedImage {
  type: 'suspect' | 'scene';
  caseId: string;
  /** Present for suspects (the batch file's field, README "scripts/batch-generate-images.ts"). */
  suspectId?: string | undefined;
  /** Attempts allowed for this image; the batch file's per-image `retries` overrides retry.maxAttempts. */
  retries?: number | undefined;
  /** Reviewer feedback appended to the prompt (regeneration from a PR review). */
  feedback?: string | undefined;
}
