import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.ts';
import { backoff, type Decision, decide, MAX_RATE_LIMIT_RETRIES } from '../src/pacing/retry-policy.ts';
import type { ErrorType, GenerationFailure } from '../src/providers/types.ts';

// The seed's numbers: initialDelay 1000, backoffMultiplier 2, maxDelay 10000, delayAfterError 5000,
// delayAfterRateLimit 60000, maxAttempts 3.
const config = configSchema.parse({});
const noJitter = () => 0;
const fullJitter = () => 0.999_999;
const halfJitter = () => 0.5;

function failure(errorType: ErrorType, extra: Partial<GenerationFailure> = {}): GenerationFailure {
  return { ok: false, errorType, reason: 'http', message: `a ${errorType} failure`, ...extra };
}

describe('backoff', () => {
  it('starts at initialDelay and grows by backoffMultiplier per attempt', () => {
    expect(config.retry).toMatchObject({ initialDelay: 1000, backoffMultiplier: 2, maxDelay: 10_000 });
    expect([1, 2, 3, 4].map((a) => backoff(config, a, noJitter))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('attempt 0 (or less) is treated as the first attempt', () => {
    expect(backoff(config, 0, noJitter)).toBe(1000);
    expect(backoff(config, -3, noJitter)).toBe(1000);
  });

  it('is capped at maxDelay, and the cap holds for very late attempts', () => {
    expect(backoff(config, 5, noJitter)).toBe(10_000);
    expect(backoff(config, 50, noJitter)).toBe(10_000);
  });

  it('follows the configured numbers', () => {
    const custom = configSchema.parse({ retry: { initialDelay: 300, backoffMultiplier: 3, maxDelay: 5000 } });
    expect([1, 2, 3, 4].map((a) => backoff(custom, a, noJitter))).toEqual([300, 900, 2700, 5000]);
    const flat = configSchema.parse({ retry: { initialDelay: 750, backoffMultiplier: 1 } });
    expect([1, 2, 7].map((a) => backoff(flat, a, noJitter))).toEqual([750, 750, 750]);
  });

  it('adds jitter of at most 20%, proportional to the random draw', () => {
    expect(backoff(config, 1, halfJitter)).toBe(1100);
    expect(backoff(config, 2, halfJitter)).toBe(2200);
    for (const attempt of [1, 2, 3, 4]) {
      const base = backoff(config, attempt, noJitter);
      const most = backoff(config, attempt, fullJitter);
      expect(most).toBeGreaterThan(base);
      expect(most).toBeLessThanOrEqual(Math.round(base * 1.2));
    }
  });

  it('never passes maxDelay, jitter included', () => {
    for (const attempt of [5, 9, 30]) expect(backoff(config, attempt, fullJitter)).toBe(10_000);
  });

  it('stays within [base, base * 1.2] for the default random', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoff(config, 3);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(4800);
    }
  });
});

describe('decide', () => {
  const maxAttempts = config.retry.maxAttempts;
  const first = { attempt: 1, rateLimited: 0 };

  it('rate_limit with retryAfterMs waits exactly that, pausing every worker', () => {
    const d = decide(
      failure('rate_limit', { status: 429, retryAfterMs: 37_000 }),
      { attempt: 0, rateLimited: 1 },
      maxAttempts,
      config,
      noJitter,
    );
    expect(d).toEqual<Decision>({ action: 'retry', delayMs: 37_000, pauseAll: true });
  });

  it('rate_limit without retryAfterMs waits delayAfterRateLimit, pausing every worker', () => {
    const d = decide(
      failure('rate_limit', { status: 429 }),
      { attempt: 0, rateLimited: 1 },
      maxAttempts,
      config,
    );
    expect(d).toEqual<Decision>({ action: 'retry', delayMs: 60_000, pauseAll: true });
    const custom = configSchema.parse({ timing: { delayAfterRateLimit: 12_345 } });
    expect(decide(failure('rate_limit'), { attempt: 0, rateLimited: 1 }, maxAttempts, custom)).toMatchObject({
      delayMs: 12_345,
    });
  });

  it('a retryAfterMs of 0 is honoured, not replaced by delayAfterRateLimit', () => {
    const d = decide(failure('rate_limit', { retryAfterMs: 0 }), { attempt: 0, rateLimited: 1 }, 3, config);
    expect(d).toEqual<Decision>({ action: 'retry', delayMs: 0, pauseAll: true });
  });

  it('a daily-quota 429 stops the batch with exit 3, whatever the counts', () => {
    for (const counts of [
      { attempt: 0, rateLimited: 1 },
      { attempt: 2, rateLimited: MAX_RATE_LIMIT_RETRIES + 5 },
    ]) {
      const d = decide(
        failure('rate_limit', { status: 429, dailyQuota: true, retryAfterMs: 5000 }),
        counts,
        maxAttempts,
        config,
      );
      expect(d).toMatchObject({ action: 'stop-batch', exitCode: 3 });
      if (d.action === 'stop-batch') expect(d.reason).toMatch(/daily request quota/);
    }
  });

  it.each([
    ['auth', /authentication failed/],
    ['billing', /billing problem/],
  ] as const)('%s stops the batch with exit 1, naming the cause', (errorType, reason) => {
    const d = decide(failure(errorType), first, maxAttempts, config);
    expect(d).toMatchObject({ action: 'stop-batch', exitCode: 1 });
    if (d.action !== 'stop-batch') throw new Error('expected stop-batch');
    expect(d.reason).toMatch(reason);
    expect(d.reason).toContain(`a ${errorType} failure`);
  });

  it('validation gives up at once, even with attempts left', () => {
    expect(decide(failure('validation'), first, 10, config)).toEqual<Decision>({ action: 'give-up' });
  });

  it.each(['api_error', 'unknown'] as const)(
    '%s waits max(delayAfterError, backoff), without pausing the others',
    (errorType) => {
      // Early attempts: backoff (1000, 2000, 4000) is below delayAfterError (5000).
      expect(
        decide(failure(errorType), { attempt: 1, rateLimited: 0 }, 10, config, noJitter),
      ).toEqual<Decision>({
        action: 'retry',
        delayMs: 5000,
        pauseAll: false,
      });
      expect(decide(failure(errorType), { attempt: 3, rateLimited: 0 }, 10, config, noJitter)).toMatchObject({
        delayMs: 5000,
      });
      // Later attempts: backoff (8000, then the 10000 cap) wins.
      expect(decide(failure(errorType), { attempt: 4, rateLimited: 0 }, 10, config, noJitter)).toMatchObject({
        delayMs: 8000,
      });
      expect(
        decide(failure(errorType), { attempt: 4, rateLimited: 0 }, 10, config, halfJitter),
      ).toMatchObject({
        delayMs: 8800,
      });
      expect(decide(failure(errorType), { attempt: 6, rateLimited: 0 }, 10, config, noJitter)).toMatchObject({
        delayMs: 10_000,
      });
      // A small delayAfterError lets the backoff show from the first retry.
      const quick = configSchema.parse({ timing: { delayAfterError: 0 } });
      expect(decide(failure(errorType), { attempt: 2, rateLimited: 0 }, 10, quick, noJitter)).toMatchObject({
        delayMs: 2000,
      });
    },
  );

  it('network waits the plain backoff, without delayAfterError and without pausing the others', () => {
    expect(
      decide(failure('network'), { attempt: 1, rateLimited: 0 }, 10, config, noJitter),
    ).toEqual<Decision>({
      action: 'retry',
      delayMs: 1000,
      pauseAll: false,
    });
    expect(decide(failure('network'), { attempt: 2, rateLimited: 0 }, 10, config, halfJitter)).toMatchObject({
      delayMs: 2200,
    });
    expect(decide(failure('network'), { attempt: 7, rateLimited: 0 }, 10, config, noJitter)).toMatchObject({
      delayMs: 10_000,
    });
  });

  it.each(['api_error', 'unknown', 'network'] as const)(
    '%s gives up once the attempts are used up, retries one short of it',
    (errorType) => {
      expect(decide(failure(errorType), { attempt: 2, rateLimited: 0 }, 3, config)).toMatchObject({
        action: 'retry',
      });
      expect(decide(failure(errorType), { attempt: 3, rateLimited: 0 }, 3, config)).toEqual<Decision>({
        action: 'give-up',
      });
      expect(decide(failure(errorType), { attempt: 4, rateLimited: 0 }, 3, config)).toEqual<Decision>({
        action: 'give-up',
      });
      // maxAttempts is the image's own budget (a batch file's `retries`), not config.retry.maxAttempts.
      expect(decide(failure(errorType), { attempt: 3, rateLimited: 0 }, 6, config)).toMatchObject({
        action: 'retry',
      });
      expect(decide(failure(errorType), { attempt: 1, rateLimited: 0 }, 1, config)).toEqual<Decision>({
        action: 'give-up',
      });
    },
  );

  it('429s have a budget of their own: MAX_RATE_LIMIT_RETRIES retries, then give-up', () => {
    expect(MAX_RATE_LIMIT_RETRIES).toBe(10);
    const rateLimit = failure('rate_limit', { retryAfterMs: 1000 });
    // rateLimited counts this image's 429s, the current one included.
    expect(
      decide(rateLimit, { attempt: 0, rateLimited: MAX_RATE_LIMIT_RETRIES }, maxAttempts, config),
    ).toMatchObject({ action: 'retry', pauseAll: true });
    expect(
      decide(rateLimit, { attempt: 0, rateLimited: MAX_RATE_LIMIT_RETRIES + 1 }, maxAttempts, config),
    ).toEqual<Decision>({ action: 'give-up' });
    // They do not eat the image's attempts: used-up attempts do not stop a 429 retry...
    expect(decide(rateLimit, { attempt: maxAttempts, rateLimited: 1 }, maxAttempts, config)).toMatchObject({
      action: 'retry',
    });
    // ...and many 429s do not stop a 5xx retry.
    expect(
      decide(
        failure('api_error'),
        { attempt: 1, rateLimited: MAX_RATE_LIMIT_RETRIES + 1 },
        maxAttempts,
        config,
      ),
    ).toMatchObject({ action: 'retry' });
  });
});
