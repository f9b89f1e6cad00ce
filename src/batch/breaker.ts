import type { ErrorType } from '../providers/types.ts';

/** How many of the latest finished images the failure rate is judged over. */
const BREAKER_WINDOW = 10;

export interface BreakerOptions {
  /** Stop when more than this share of the last BREAKER_WINDOW finished images failed; null: never. */
  stopOnFailureRate: number | null;
  /** Stop after this many 429s in a row with no successful request between them; null: never. */
  stopAfterRateLimits: number | null;
}

/** Why the breaker stopped the batch, and what the user can do about it. */
export interface Trip {
  exitCode: 3;
  reason: string;
  advice: string;
}

/** One line per error class: the error report's recommendation when that class dominates a storm. */
const ADVICE: Record<ErrorType, string> = {
  rate_limit:
    'The API kept answering 429: the per-minute quota is shared with another run or lower than lineup assumed. ' +
    'Wait a few minutes, run fewer jobs at once or set rateLimit.requestsPerMinute to your tier, then resume.',
  api_error:
    'Most requests ended in server errors (5xx): the Gemini API is having trouble (see https://aistudio.google.com/status). Resume later.',
  network:
    'Most requests did not reach the API (timeouts, resets, DNS): check the network, proxies and apiBaseUrl, then resume.',
  validation:
    'Most images were refused or came back unusable (safety blocks, no image, failed quality checks): ' +
    'look at the failures and the prompts of these cases before spending more.',
  auth: 'The API key was refused: check the GEMINI_API_KEY secret, then resume.',
  billing: 'Billing refused the requests: add credit or enable billing, then resume.',
  model_not_found:
    'The model is not found (retired or misspelled): set `model` in lineup.config.json (or --model) to a current image model, then start a new batch.',
  unknown: 'Most requests failed with unexpected errors: read the failures in the error report, then resume.',
};

/**
 * The seed's rule "more than 30% of images failing stops the batch" as a circuit breaker (README,
 * "Failure storms: the breaker"): a failure storm stops the batch (exit 3, the rest pending)
 * instead of spending every image's attempts on it. The rate is
 * judged only once BREAKER_WINDOW images have finished, so a small batch always runs to its end.
 */
export class FailureBreaker {
  /** The latest finished images: the error class of a failure, or null for a success. */
  private readonly recent: Array<ErrorType | null> = [];
  private rateLimitsInARow = 0;

  constructor(private readonly options: BreakerOptions) {}

  /** An image finished: `errorType` when it failed. Returns a trip when the failure rate is too high. */
  imageFinished(errorType?: ErrorType): Trip | undefined {
    this.recent.push(errorType ?? null);
    if (this.recent.length > BREAKER_WINDOW) this.recent.shift();
    const limit = this.options.stopOnFailureRate;
    if (limit === null || this.recent.length < BREAKER_WINDOW) return undefined;
    const failed = this.recent.filter((t): t is ErrorType => t !== null);
    if (failed.length / this.recent.length <= limit) return undefined;
    const dominant = mostCommon(failed);
    return {
      exitCode: 3,
      reason:
        `${failed.length} of the last ${this.recent.length} images failed (more than stopOnFailureRate ` +
        `${limit}), mostly ${dominant}`,
      advice: ADVICE[dominant],
    };
  }

  /** A request the server answered with success: the run of 429s is broken. */
  requestSucceeded(): void {
    this.rateLimitsInARow = 0;
  }

  /** A 429 (not the daily quota, which stops on its own). Returns a trip after too many in a row. */
  rateLimited(): Trip | undefined {
    this.rateLimitsInARow += 1;
    const limit = this.options.stopAfterRateLimits;
    if (limit === null || this.rateLimitsInARow < limit) return undefined;
    return {
      exitCode: 3,
      reason: `${this.rateLimitsInARow} rate-limit answers (429) in a row with no success between them`,
      advice: ADVICE.rate_limit,
    };
  }
}

/** The most frequent class; ties go to the one seen last (the storm's current face). */
function mostCommon(types: ErrorType[]): ErrorType {
  const counts = new Map<ErrorType, number>();
  let best: ErrorType = types[types.length - 1] ?? 'unknown';
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  for (const [t, n] of counts) if (n > (counts.get(best) ?? 0)) best = t;
  return best;
}
