import { access } from 'node:fs/promises';
import type { BatchOptions } from '../cases/batch-file.ts';
import { readBatchFile } from '../cases/batch-file.ts';
import { readCase } from '../cases/case-store.ts';
import { readManifest } from '../cases/manifest-store.ts';
import { EXTENSION_FOR_MIME, imageFile } from '../cases/paths.ts';
import type { Case } from '../cases/schema.ts';
import { InputError } from '../errors.ts';
import { buildPrompt } from '../prompts/index.ts';
import type { AspectRatio, ImageMimeType } from '../providers/types.ts';
import { findStyleSheet, type SheetCache, type StyleSheet } from '../styles/style-sheet.ts';
import { imageIdOf, imageKey } from './progress.ts';
import type { PlannedImage } from './types.ts';

export type ImageType = 'all' | 'suspects' | 'scene';

/** Where the list of images comes from: one per command-line form. */
export type PlanSource =
  | { kind: 'case'; caseId: string; type: ImageType }
  | { kind: 'batch-file'; path: string }
  | { kind: 'images'; images: PlannedImage[]; options?: BatchOptions };

export interface PlanItem extends PlannedImage {
  key: string;
  imageId: string;
  prompt: string;
  promptHash: string;
  aspectRatio: AspectRatio;
  /** The case's style sheet, sent as a reference image with the prompt. */
  style?: StyleSheet;
}

export interface Plan {
  /** Images to generate, in order. */
  items: PlanItem[];
  /** Images left alone because they exist (and `force` was not given). */
  skipped: PlannedImage[];
  options: BatchOptions;
}

/** Turns a source into the list of wanted images, before any case file is read. */
export async function wantedImages(
  root: string,
  source: PlanSource,
): Promise<{ images: PlannedImage[]; options: BatchOptions }> {
  switch (source.kind) {
    case 'case': {
      const data = await readCase(root, source.caseId);
      const images: PlannedImage[] = [];
      if (source.type !== 'scene') {
        for (const s of data.suspects) images.push({ type: 'suspect', caseId: data.id, suspectId: s.id });
      }
      if (source.type !== 'suspects') images.push({ type: 'scene', caseId: data.id });
      return { images, options: {} };
    }
    case 'batch-file': {
      const file = await readBatchFile(source.path);
      return { images: file.images, options: file.options ?? {} };
    }
    case 'images':
      return { images: source.images, options: source.options ?? {} };
  }
}

/** True when any image file for this image exists, whatever its extension. */
async function imageExists(root: string, caseId: string, imageId: string): Promise<boolean> {
  for (const mime of Object.keys(EXTENSION_FOR_MIME) as ImageMimeType[]) {
    try {
      await access(imageFile(root, caseId, imageId, mime));
      return true;
    } catch {
      // try the next extension
    }
  }
  return false;
}

/**
 * Resolves every wanted image against its case: reads each case once, builds each prompt, and
 * collects every problem instead of stopping at the first, so the user fixes them in one go.
 */
export async function resolvePlan(
  root: string,
  images: PlannedImage[],
  options: { force: boolean; source?: string },
): Promise<{ items: PlanItem[]; skipped: PlannedImage[]; problems: InputError[] }> {
  const cases = new Map<string, Case | InputError>();
  const styles = new Map<string, StyleSheet | undefined>();
  const sheets: SheetCache = new Map();
  const problems: InputError[] = [];
  const items: PlanItem[] = [];
  const skipped: PlannedImage[] = [];
  const seen = new Set<string>();
  for (const [index, image] of images.entries()) {
    const where = options.source ? { file: options.source, field: `images[${index}]` } : {};
    let data = cases.get(image.caseId);
    if (!data) {
      // The manifest is read too: a broken one would otherwise fail the first save, mid-batch.
      data = await readCase(root, image.caseId)
        .then(async (c) => {
          await readManifest(root, c.id);
          return c;
        })
        .catch((e: unknown) => {
          if (e instanceof InputError) return e;
          throw e;
        });
      cases.set(image.caseId, data);
      if (data instanceof InputError) problems.push(data);
    }
    if (data instanceof InputError) continue;
    if (!styles.has(data.id)) {
      const style = await findStyleSheet(root, data, sheets).catch((e: unknown) => {
        if (e instanceof InputError) return e;
        throw e;
      });
      if (style instanceof InputError) problems.push(style);
      styles.set(data.id, style instanceof InputError ? undefined : style);
    }
    const style = styles.get(data.id);
    const key = imageKey(image);
    if (seen.has(key)) continue;
    seen.add(key);
    const imageId = imageIdOf(image);
    let built: ReturnType<typeof buildPrompt>;
    try {
      built = buildPrompt(data, imageId, image.feedback ? { feedback: image.feedback } : {});
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      problems.push(where.file ? new InputError(e.message, where) : e);
      continue;
    }
    if (!options.force && (await imageExists(root, image.caseId, imageId))) {
      skipped.push(image);
      continue;
    }
    items.push({
      ...image,
      key,
      imageId,
      prompt: built.prompt,
      promptHash: built.promptHash,
      aspectRatio: built.aspectRatio,
      ...(style ? { style } : {}),
    });
  }
  return { items, skipped, problems };
}
