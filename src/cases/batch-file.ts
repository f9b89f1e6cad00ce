import { z } from 'zod';
import { readJsonFile } from '../util/read-json.ts';
import { CASE_ID_PATTERN, SUSPECT_ID_PATTERN } from './ids.ts';

/** The batch file, exactly as the seed had it: `images[]` and `options` (README, "The seed: what lineup replaces"). */
const batchImageSchema = z
  .object({
    type: z.enum(['suspect', 'scene']),
    caseId: z.string().max(64).regex(CASE_ID_PATTERN, 'must look like case-YYYY-MM-DD'),
    suspectId: z.string().regex(SUSPECT_ID_PATTERN, 'must look like suspect-N').optional(),
    retries: z.number().int().min(1).max(20).optional(),
  })
  .strict()
  .superRefine((image, ctx) => {
    if (image.type === 'suspect' && !image.suspectId) {
      ctx.addIssue({ code: 'custom', path: ['suspectId'], message: 'is required when type is suspect' });
    }
    if (image.type === 'scene' && image.suspectId) {
      ctx.addIssue({ code: 'custom', path: ['suspectId'], message: 'must be absent when type is scene' });
    }
  });

export const batchOptionsSchema = z
  .object({
    /** Delay between images, ms (the batch file's name for delayBetweenImages). */
    delay: z.number().int().nonnegative().optional(),
    maxConcurrent: z.number().int().min(1).max(16).optional(),
    stopOnError: z.boolean().optional(),
  })
  .strict();

export const batchFileSchema = z
  .object({
    images: z.array(batchImageSchema).min(1, 'must list at least one image').max(10_000),
    options: batchOptionsSchema.optional(),
  })
  .strict();

export type BatchFile = z.infer<typeof batchFileSchema>;
export type BatchOptions = z.infer<typeof batchOptionsSchema>;

export function readBatchFile(path: string): Promise<BatchFile> {
  return readJsonFile(path, batchFileSchema);
}
