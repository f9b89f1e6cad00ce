import { z } from 'zod';

/*
 * The vision judge's default model: the cheapest current GA Gemini text model that reads images.
 * gemini-3.1-flash-lite went GA in May 2026 (its `-preview` id was shut down on 2026-05-25, see
 * Google's deprecations page https://ai.google.dev/gemini-api/docs/deprecations) at $0.25 per 1M
 * input and $1.50 per 1M output tokens (Google's pricing page, read 2026-12-01). One line to change.
 */
const DEFAULT_JUDGE_MODEL = 'gemini-3.1-flash-lite';

const VISION_POLICIES = ['off', 'flag', 'regenerate'] as const;
export type VisionPolicy = (typeof VISION_POLICIES)[number];

/** `qa` in lineup.config.json: the vision judge (README, "Vision QA"). */
export const qaConfigSchema = z
  .object({
    /** off | flag | regenerate; unset means flag when a key is set (and nothing offline). */
    vision: z.enum(VISION_POLICIES).optional(),
    /** Text model that judges the images. */
    model: z.string().min(1).default(DEFAULT_JUDGE_MODEL),
    /** Regenerations the `regenerate` policy may spend on one image. */
    repairsPerImage: z.number().int().min(0).max(5).default(1),
    /** …and on the whole run, as a share of its images (rounded up). */
    repairShare: z.number().min(0).max(1).default(0.1),
    /** Timeout of one judge request, ms. */
    timeout: z.number().int().positive().default(60_000),
    /** Attempts per judge call for 5xx and network errors (429s have their own budget). */
    maxAttempts: z.number().int().min(1).max(10).default(2),
  })
  .strict();
