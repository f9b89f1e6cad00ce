import type { BatchFile, BatchOptions } from '../cases/batch-file.ts';
import type { PlannedImage } from '../images/types.ts';
import { writeJsonAtomic } from '../util/atomic-write.ts';

/** The batch-file format caps a file at this many images (batchFileSchema). */
export const MAX_EXPORT_IMAGES = 10_000;

/**
 * The images in the seed's batch-file format, so the export can be fed to `--batch-file`. Only the
 * batch-file fields are kept; options stay empty so the config decides pacing.
 */
export function toBatchFile(images: readonly PlannedImage[]): {
  images: BatchFile['images'];
  options: BatchOptions;
} {
  return {
    images: images
      .slice(0, MAX_EXPORT_IMAGES)
      .map((i) =>
        i.type === 'scene'
          ? { type: 'scene' as const, caseId: i.caseId }
          : { type: 'suspect' as const, caseId: i.caseId, suspectId: i.suspectId ?? '' },
      ),
    options: {},
  };
}

export async function writeBatchFile(path: string, images: readonly PlannedImage[]): Promise<number> {
  const file = toBatchFile(images);
  await writeJsonAtomic(path, file);
  return file.images.length;
}
