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

export type AspectRatio = '1:1' | '3:4' | '16:9';

export type ImageMimeType = 'image/png' | 'image/jpeg' | 'image/webp';

/** The pixel size Gemini's image models return for each aspect ratio; the placeholder draws the same. */
export const SIZE_FOR_ASPECT: Record<AspectRatio, { width: number; height: number }> = {
  '1:1': { width: 1024, height: 1024 },
  '3:4': { width: 864, height: 1184 },
  '16:9': { width: 1344, height: 768 },
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

/** DESIGN.md's error classes; auth and billing are split because both stop a batch but read differently. */
export type ErrorType =
  | 'rate_limit'
  | 'api_error'
  | 'network'
  | 'validation'
  | 'auth'
  | 'billing'
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
  | 'unknown';

export interface GenerationFailure {
  ok: false;
  errorType: ErrorType;
  reason: FailureReason;
  /** One line for humans; never holds the API key. */
  message: string;
  /** HTTP status when the server answered with an error. */
  status?: number;
  /** The server's RetryInfo.retryDelay in milliseconds, when given. */
  retryAfterMs?: number;
  /** A 429 whose QuotaFailure names a per-day quota: nothing more can succeed today. */
  dailyQuota?: boolean;
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
}
