import { z } from 'zod';
import { CASE_ID_PATTERN, IMAGE_ID_PATTERN, isRealDate, SUSPECT_ID_PATTERN } from './ids.ts';
import { provenanceSchema, visionVerdictSchema } from './provenance.ts';

/** Longest free text in a case; keeps prompts under the prompt limit with room for the template. */
export const MAX_TEXT = 1500;
const MAX_SHORT = 120;

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

const suspectSchema = z
  .object({
    id: z.string().regex(SUSPECT_ID_PATTERN, 'must look like suspect-N'),
    name: text(MAX_SHORT),
    appearance: text(MAX_TEXT),
    age: z.number().int().min(1).max(120).optional(),
    occupation: text(MAX_SHORT).optional(),
    demeanor: text(MAX_SHORT).optional(),
    clothing: text(MAX_TEXT).optional(),
    motive: text(MAX_TEXT).optional(),
    alibi: text(MAX_TEXT).optional(),
  })
  .strict();

const sceneSchema = z
  .object({
    description: text(MAX_TEXT),
    location: text(MAX_SHORT).optional(),
    timeOfDay: text(MAX_SHORT).optional(),
    weather: text(MAX_SHORT).optional(),
    mood: text(MAX_SHORT).optional(),
    clues: z.array(text(MAX_SHORT)).max(12).optional(),
  })
  .strict();

export const caseSchema = z
  .object({
    id: z.string().max(64).regex(CASE_ID_PATTERN, 'must look like case-YYYY-MM-DD or case-YYYY-MM-DD-suffix'),
    title: text(MAX_SHORT),
    date: z.string().refine(isRealDate, 'must be a real date YYYY-MM-DD'),
    artStyle: text(MAX_SHORT * 2).optional(),
    summary: text(MAX_TEXT).optional(),
    scene: sceneSchema,
    suspects: z
      .array(suspectSchema)
      .min(1, 'must list at least one suspect')
      .max(8, 'must list at most 8 suspects'),
  })
  .strict()
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.suspects.forEach((s, i) => {
      if (seen.has(s.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['suspects', i, 'id'],
          message: `duplicate suspect id ${s.id}`,
        });
      }
      seen.add(s.id);
    });
    if (!value.id.startsWith(`case-${value.date}`)) {
      ctx.addIssue({ code: 'custom', path: ['date'], message: `must match the date in the id ${value.id}` });
    }
  });

export type Case = z.infer<typeof caseSchema>;
export type Suspect = z.infer<typeof suspectSchema>;

const reviewSchema = z.object({
  status: z.enum(['pending', 'approved', 'changes-requested']),
  by: z.string().nullable().default(null),
  at: z.string().nullable().default(null),
  pullRequest: z.number().int().nullable().default(null),
  feedback: z.string().nullable().default(null),
});

const manifestEntrySchema = z.object({
  file: z.string().regex(/^(?:suspect-[1-9]\d?|scene)\.(?:png|jpg|webp)$/, 'must be <image-id>.png|jpg|webp'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex sha256'),
  bytes: z.number().int().nonnegative(),
  /**
   * The file's mtime (ms) right after it was written, when its bytes were a clean image: with
   * `bytes` it lets the scan trust the file without reading it (see the README's scan section).
   * Absent in older manifests, and for images the scan must always read.
   */
  mtimeMs: z.number().nonnegative().optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  mimeType: z.enum(['image/png', 'image/jpeg', 'image/webp']),
  provider: z.enum(['gemini', 'placeholder']),
  model: z.string(),
  promptHash: z.string(),
  generatedAt: z.string(),
  batchId: z.string(),
  attempts: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
  /** `batch` when the image came from Gemini's Batch API at half price. */
  mode: z.enum(['sync', 'batch']).default('sync'),
  /** Names of failed quality checks at generation time; empty when clean. */
  quality: z.array(z.string()).default([]),
  review: reviewSchema,
  /** How the image was made (optional: older manifests lack it). */
  provenance: provenanceSchema.optional(),
  /** The vision judge's verdict (optional: older manifests and runs without the judge lack it). */
  vision: visionVerdictSchema.optional(),
});

export const manifestSchema = z.object({
  caseId: z.string().regex(CASE_ID_PATTERN),
  images: z.record(z.string().regex(IMAGE_ID_PATTERN, 'must be suspect-N or scene'), manifestEntrySchema),
  /** The vision judge's "are the suspects clearly different people" verdict (optional). */
  lineup: visionVerdictSchema.optional(),
});

export type Review = z.infer<typeof reviewSchema>;
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;
export type Manifest = z.infer<typeof manifestSchema>;
