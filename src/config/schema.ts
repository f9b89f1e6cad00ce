import { z } from 'zod';
import {
  BATCH_PRICE_FACTOR,
  DEFAULT_IMAGE_MODEL,
  IMAGE_SIZES,
  type ImageSize,
  imagePrice,
  unknownModelPrice,
} from './pricing.ts';
import { qaConfigSchema } from './qa.ts';

/** Default image model; chosen, with its sources and date, in pricing.ts (the one price table). */
export const DEFAULT_MODEL = DEFAULT_IMAGE_MODEL;

/*
 * Every option once, with its default: the seed's numbers (README, "The seed: what lineup
 * replaces"). All times are milliseconds.
 */
export const configSchema = z
  .object({
    timing: z
      .object({
        /** Minimum gap between the starts of two requests (not an idle sleep after each image). */
        delayBetweenImages: z.number().int().nonnegative().default(2000),
        /** Wait before retrying after a 5xx or unknown error. */
        delayAfterError: z.number().int().nonnegative().default(5000),
        /** Wait after a 429 that carries no RetryInfo. */
        delayAfterRateLimit: z.number().int().nonnegative().default(60000),
        /** Requests in flight at once. */
        maxConcurrent: z.number().int().min(1).max(16).default(1),
        /** Timeout of one request. */
        requestTimeout: z.number().int().positive().default(120000),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        /** Attempts per image, the first included. */
        maxAttempts: z.number().int().min(1).max(20).default(3),
        backoffMultiplier: z.number().min(1).default(2),
        initialDelay: z.number().int().nonnegative().default(1000),
        maxDelay: z.number().int().nonnegative().default(10000),
        /** Stop the batch (exit 3) when more than this share of the last 10 finished images failed; null: never. */
        stopOnFailureRate: z.number().min(0).max(1).nullable().default(0.3),
        /** Stop the batch (exit 3) after this many 429s in a row with no success between; null: never. */
        stopAfterRateLimits: z.number().int().min(1).nullable().default(5),
      })
      .strict()
      .prefault({}),
    cost: z
      .object({
        /** A batch stops before the request that would pass this many USD (exit 3). */
        maxCost: z.number().nonnegative().default(5),
        /** USD per image by model; merged over the built-in table. */
        costPerImage: z.record(z.string(), z.number().nonnegative()).default({}),
        /** Share of the price the Gemini Batch API takes off (--mode batch): 0.5 = half price. */
        batchDiscount: z
          .number()
          .min(0)
          .max(1)
          .default(1 - BATCH_PRICE_FACTOR),
      })
      .strict()
      .prefault({}),
    rateLimit: z
      .object({
        /** Requests started in any 60 s window; unset means only delayBetweenImages limits. */
        requestsPerMinute: z.number().int().positive().optional(),
        /** Requests started per day (UTC); the batch stops with exit 3 when reached. */
        requestsPerDay: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    model: z.string().min(1).default(DEFAULT_MODEL),
    /** Output size of Gemini 3 image models (imageConfig.imageSize); older models ignore it. */
    imageSize: z.enum(IMAGE_SIZES as [ImageSize, ...ImageSize[]]).default('1K'),
    /** gemini when GEMINI_API_KEY is set; the terminal falls back to placeholder without a key. */
    provider: z.enum(['gemini', 'placeholder']).optional(),
    apiVersion: z
      .string()
      .regex(/^v\d+(?:alpha|beta)?\d*$/)
      .default('v1beta'),
    /** Base URL of the Gemini API; GOOGLE_GEMINI_BASE_URL is the SDK's own variable for it. */
    apiBaseUrl: z.url().optional(),
    /** The vision judge (src/qa). */
    qa: qaConfigSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Price of one image: the config's own price for the model, else the table's at `imageSize`. */
export function costPerImage(config: Config, model: string): number {
  if (model === 'placeholder') return 0;
  return (
    config.cost.costPerImage[model] ??
    imagePrice(model, config.imageSize) ??
    unknownModelPrice(config.imageSize)
  );
}

/** What one image costs through the Batch API (--mode batch). */
export function batchCostPerImage(config: Config, model: string): number {
  return costPerImage(config, model) * (1 - config.cost.batchDiscount);
}
