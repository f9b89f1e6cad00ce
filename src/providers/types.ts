import type { AspectRatio, ImageMimeType } from '../images/types.ts';
import type { TokenUsage } from './usage-cost.ts';

/** What a provider is asked for: one image, with the prompt already built. */
export interface ImageRequest {
  kind: 'suspect' | 'scene';
  caseId: string;
  /** `suspect-N` or `scene`. */
  imageId: string;
  prompt: string;
  aspectRatio: AspectRatio;
  /** Reference images sent with the prompt (the case's style sheet). */
  references?: ReadonlyArray<{ mimeType: string; bytes: Uint8Array }>;
  /** Aborts the request (the runner's timeout or a shutdown). */
  signal?: AbortSignal;
}

export type { AspectRatio, ImageMimeType } from '../images/types.ts';

/**
 * The pixel size Gemini 2.5 Flash Image returned for each aspect ratio; the placeholder draws the
 * same. Nothing checks an image against it: the quality checks read the size from the file and
 * judge the aspect ratio, because every model family has sizes of its own.
 */
export const SIZE_FOR_ASPECT: Record<AspectRatio, { width: number; height: number }> = {
  '1:1': { width: 1024, height: 1024 },
  '3:4': { width: 864, height: 1184 },
  '16:9': { width: 1344, height: 768 },
};

/**
 * Gemini 3 image models at imageSize 1K (Google's image-generation guide, "Gemini 3 image models"
 * resolution table: 3:4 is 896x1200, 16:9 is 1376x768); 2K and 4K double and quadruple both sides.
 */
export const GEMINI3_SIZE_FOR_ASPECT: Record<AspectRatio, { width: number; height: number }> = {
  '1:1': { width: 1024, height: 1024 },
  '3:4': { width: 896, height: 1200 },
  '16:9': { width: 1376, height: 768 },
};

export interface GeneratedImage {
  ok: true;
  bytes: Uint8Array;
  mimeType: ImageMimeType;
  width: number;
  height: number;
  provider: ProviderName;
  model: string;
  costUsd: number;
  /** Tokens by modality, when the reply carried usageMetadata (what the image actually cost). */
  usage?: TokenUsage;
}

/** The error classes of the error table (README, "What happens on errors"); auth and billing are split because both stop a batch but read differently. */
export type ErrorType =
  | 'rate_limit'
  | 'api_error'
  | 'network'
  | 'validation'
  | 'auth'
  | 'billing'
  /** 404 NOT_FOUND for the model: retired or never existed; nothing else can succeed either. */
  | 'model_not_found'
  | 'unknown';

/** Why a request failed, finer than ErrorType, for reports and recommendations. */
export type FailureReason =
  | 'http'
  | 'prompt_blocked'
  | 'image_blocked'
  | 'no_image'
  | 'text_only'
  | 'timeout'
  | 'connection_reset'
  | 'connection_refused'
  | 'network'
  | 'malformed_reply'
  | 'undecodable_image'
  | 'prompt_too_long'
  | 'quality'
  | 'model_not_found'
  /** A 429 saying this project has no quota at all for the model (limit: 0). */
  | 'no_quota'
  | 'unknown';

export interface GenerationFailure {
  ok: false;
  errorType: ErrorType;
  reason: FailureReason;
  /** One line for humans; never holds the API key. */
  message: string;
  /** HTTP status when the server answered with an error. */
  status?: number;
  /** The server's retry delay in ms: RetryInfo.retryDelay, else the "retry in 20.04s" of the message. */
  retryAfterMs?: number;
  /** A 429 whose QuotaFailure names a per-day quota: nothing more can succeed today. */
  dailyQuota?: boolean;
  /** A 429 whose quota for this model is 0 (limit: 0 / quotaValue "0"): no retry can succeed. */
  noQuota?: boolean;
  /** The quota a 429 names (its quotaId or metric), for the message and the report. */
  quota?: string;
  /** A 429 whose QuotaFailure names a per-minute quota: the only kind that lowers the limiter's ceiling. */
  perMinuteQuota?: boolean;
}

export type GenerationResult = GeneratedImage | GenerationFailure;

export type ProviderName = 'gemini' | 'placeholder';

export interface ImageProvider {
  readonly name: ProviderName;
  readonly model: string;
  /** Price of one image in USD, for estimates and the cost cap. */
  readonly costPerImage: number;
  /** Never throws for an API outcome: every outcome is a GenerationResult. */
  generate(request: ImageRequest): Promise<GenerationResult>;
  /**
   * Checked once before a run's first request (gemini only): throws InputError (exit 2) when the
   * model does not exist for this key; other outcomes are left to the run's own error handling.
   */
  verifyModel?(): Promise<void>;
}
