import { z } from 'zod';

/*
 * Optional manifest fields: how an image was made and what a second pair of eyes made of it.
 * Manifests written before them still parse; every field a reader needs has a default or is
 * optional.
 */

const tokenUsageSchema = z.object({
  prompt: z.number().int().nonnegative(),
  image: z.number().int().nonnegative(),
  text: z.number().int().nonnegative(),
  thoughts: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});

/** A reference image sent with the prompt (the case's style sheet). */
const referenceSchema = z.object({
  role: z.enum(['style']),
  /** Repository-relative path. */
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const provenanceSchema = z.object({
  promptTemplateVersion: z.number().int().optional(),
  imageConfig: z.object({ aspectRatio: z.string(), imageSize: z.string().optional() }).optional(),
  references: z.array(referenceSchema).default([]),
  /** Tokens of the kept image's reply, by modality. */
  usage: tokenUsageSchema.optional(),
  /** The kept image's tokens × the published per-token prices (the manifest's costUsd is the estimate). */
  actualCostUsd: z.number().nonnegative().optional(),
});

const visionIssueSchema = z.object({ check: z.string(), detail: z.string() });

/**
 * The vision judge's verdict on the image as kept. `not-judged` means the judge failed (error,
 * timeout, an answer out of schema) and says why; `skipped` means there was nothing to judge
 * (a placeholder, no key, the policy is off).
 */
export const visionVerdictSchema = z.object({
  status: z.enum(['pass', 'fail', 'not-judged', 'skipped']),
  score: z.number().min(0).max(1).optional(),
  /** The rubric's check names, so a reader can show ✓ for every check without an issue. */
  checks: z.array(z.string()).default([]),
  issues: z.array(visionIssueSchema).default([]),
  reason: z.string().optional(),
  model: z.string().optional(),
  rubricVersion: z.number().int().optional(),
  rubricHash: z.string().optional(),
  /** Judge requests spent on this image (repairs and retries included). */
  calls: z.number().int().nonnegative().default(0),
  costUsd: z.number().nonnegative().default(0),
  usage: tokenUsageSchema.optional(),
  /** Regenerations the `regenerate` policy spent on this image. */
  repairs: z.number().int().nonnegative().optional(),
  judgedAt: z.string().optional(),
});

export type Provenance = z.infer<typeof provenanceSchema>;
export type VisionVerdict = z.infer<typeof visionVerdictSchema>;
export type VisionIssue = z.infer<typeof visionIssueSchema>;
