import type { Config } from '../config/schema.ts';
import { ExitCode, type StopExitCode } from '../errors.ts';
import type { GenerationFailure } from '../providers/types.ts';

/** What the runner does with a failure (README, "What happens on errors"). */
export type Decision =
  | { action: 'retry'; delayMs: number; pauseAll: boolean }
  | { action: 'give-up' }
  | { action: 'stop-batch'; exitCode: StopExitCode; reason: string };

/**
 * Exponential backoff with the seed's retry settings (initialDelay, backoffMultiplier, maxDelay;
 * README, "Configuration"), plus up to 20% jitter so workers spread out; maxDelay stays a hard cap.
 */
export function backoff(config: Config, attempt: number, random: () => number = Math.random): number {
  const { initialDelay, backoffMultiplier, maxDelay } = config.retry;
  const base = Math.min(initialDelay * backoffMultiplier ** Math.max(0, attempt - 1), maxDelay);
  return Math.round(Math.min(maxDelay, base * (1 + 0.2 * random())));
}

/**
 * 429s that carry no daily quota are the server pacing us, not the image failing, so they have a
 * budget of their own instead of eating the image's attempts.
 */
export const MAX_RATE_LIMIT_RETRIES = 10;

/**
 * `attempt` counts the failed attempts so far for this image, 429s excluded (1 after the first
 * failure); `rateLimited` counts its 429s; `maxAttempts` is this image's budget.
 */
export function decide(
  failure: GenerationFailure,
  counts: { attempt: number; rateLimited: number },
  maxAttempts: number,
  config: Config,
  random?: () => number,
): Decision {
  switch (failure.errorType) {
    case 'auth':
      return {
        action: 'stop-batch',
        exitCode: ExitCode.someFailed,
        reason: `authentication failed (${failure.message})`,
      };
    case 'billing':
      return {
        action: 'stop-batch',
        exitCode: ExitCode.someFailed,
        reason: `billing problem (${failure.message})`,
      };
    case 'model_not_found':
      // Retired under the run (or never there): every other image would get the same 404.
      return {
        action: 'stop-batch',
        exitCode: ExitCode.someFailed,
        reason: `the model is not available (${failure.message}); choose a current one with "model" in lineup.config.json or --model`,
      };
    case 'validation':
      return { action: 'give-up' };
    case 'rate_limit':
      if (failure.noQuota) {
        return {
          action: 'stop-batch',
          exitCode: ExitCode.someFailed,
          reason: `this project has no quota for the model (${failure.quota ?? 'limit: 0'}): enable billing for the key's project (image models have no free tier), or choose another model with "model" in lineup.config.json or --model`,
        };
      }
      if (failure.dailyQuota) {
        return {
          action: 'stop-batch',
          exitCode: ExitCode.stoppedEarly,
          reason: 'the daily request quota is exhausted',
        };
      }
      if (counts.rateLimited > MAX_RATE_LIMIT_RETRIES) return { action: 'give-up' };
      return {
        action: 'retry',
        delayMs: failure.retryAfterMs ?? config.timing.delayAfterRateLimit,
        pauseAll: true,
      };
    case 'api_error':
    case 'unknown':
      if (counts.attempt >= maxAttempts) return { action: 'give-up' };
      return {
        action: 'retry',
        delayMs: Math.max(config.timing.delayAfterError, backoff(config, counts.attempt, random)),
        pauseAll: false,
      };
    case 'network':
      if (counts.attempt >= maxAttempts) return { action: 'give-up' };
      return { action: 'retry', delayMs: backoff(config, counts.attempt, random), pauseAll: false };
  }
}

/** A failure that a later `--resume` may fix (`recoverable` in the progress file and the error report). */
export function isRecoverable(failure: GenerationFailure): boolean {
  // A retired model cannot come back, and a resume keeps the batch's model: only a new batch with
  // another model helps. No quota, by contrast, passes once billing is enabled.
  return failure.errorType !== 'validation' && failure.errorType !== 'model_not_found';
}
