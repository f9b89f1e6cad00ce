import { describe, expect, test } from 'vitest';
import { type LimiterOptions, type Slot, StartLimiter, WINDOW } from '../src/pacing/limiter.ts';
import type { GenerationFailure, GenerationResult } from '../src/providers/types.ts';
import { VirtualClock } from '../src/util/clock.ts';

// The limiter on a virtual clock: acquire() sleeps move time, advance() stands for time passing
// while requests are in flight. Every figure below follows from the README's rule.

const ok: GenerationResult = {
  ok: true,
  bytes: new Uint8Array(),
  mimeType: 'image/png',
  width: 1,
  height: 1,
  provider: 'gemini',
  model: 'm',
  costUsd: 0,
};
/** A per-minute-quota 429 whose RetryInfo says a slot frees in `retrySec`. */
const quota429 = (retrySec: number): GenerationFailure => ({
  ok: false,
  errorType: 'rate_limit',
  reason: 'http',
  message: '429',
  status: 429,
  retryAfterMs: retrySec * 1000,
  perMinuteQuota: true,
});
const perMinute429 = quota429(2);
const plain429: GenerationResult = { ...perMinute429, perMinuteQuota: false };
const e503: GenerationResult = {
  ok: false,
  errorType: 'api_error',
  reason: 'http',
  message: '503',
  status: 503,
};

function setUp(options: Partial<LimiterOptions> = {}) {
  const clock = new VirtualClock();
  const limiter = new StartLimiter({ minGapMs: 0, ...options }, clock);
  const t0 = clock.now();
  /** Starts one request (waiting as the limiter says) and answers it with `result`. */
  const request = async (result: GenerationResult, ownRetry = false): Promise<Slot> => {
    const slot = await limiter.acquire();
    if (!slot) throw new Error('no slot');
    limiter.observe(slot, result, ownRetry);
    return slot;
  };
  /** `n` accepted requests, `gapMs` apart. */
  const accepted = async (n: number, gapMs: number) => {
    for (let i = 0; i < n; i++) {
      await request(ok);
      clock.advance(gapMs);
    }
  };
  /** Requests as fast as the limiter lets them go, all accepted, for `ms`. */
  const busyFor = async (ms: number) => {
    const end = clock.now() + ms;
    for (;;) {
      const wait = limiter.waitTime();
      if (clock.now() + wait >= end) break;
      await request(ok);
    }
    clock.advance(end - clock.now());
  };
  return { clock, limiter, request, accepted, busyFor, elapsed: () => clock.now() - t0 };
}

describe('the limiter learns from per-minute-quota 429s', () => {
  test('a 429 after a full window takes what the server accepted as the ceiling', async () => {
    const { limiter, request, accepted, clock } = setUp();
    // 21 accepted starts 3 s apart (0 … 60 s); the one at 63 s is refused: 20 were accepted in its 62 s window.
    await accepted(21, 3000);
    await request(perMinute429);
    expect(limiter.ceiling()).toBe(20);
    // The 21st start of the next window waits for the oldest of the last 20 to leave it.
    clock.advance(1000);
    expect(limiter.waitTime()).toBeGreaterThan(0);
  });

  test('a later 429 cuts the ceiling multiplicatively (x0.9), once per window of requests', async () => {
    const { limiter, request, accepted, clock } = setUp();
    await accepted(21, 3000);
    // In flight when the 429 arrives: the server took it, so it counts as accepted (21).
    const inFlight = await limiter.acquire();
    await request(perMinute429);
    expect(limiter.ceiling()).toBe(21);
    // A 429 for a request started before the cut is old news.
    if (!inFlight) throw new Error('no slot');
    limiter.observe(inFlight, perMinute429, false);
    expect(limiter.ceiling()).toBe(21);
    // A 429 for a request started after it cuts again: min(21 x 0.9, 20 accepted) = 18.9.
    await accepted(1, 3000);
    await request(perMinute429);
    expect(limiter.ceiling()).toBeCloseTo(18.9);
    expect(clock.now()).toBeGreaterThan(0);
  });

  test('a 429 early in the run is scaled to a full window, not taken as the ceiling', async () => {
    const { limiter, request, accepted } = setUp();
    // Five accepted starts from 0 to 8 s, refused at 10 s with "retry in 1 s": five in 11 s,
    // a rate of about 28 per 62 s window, not a ceiling of 5.
    await accepted(5, 2000);
    await request(quota429(1));
    expect(limiter.ceiling()).toBeCloseTo((5 * 62) / 11);
  });

  test('a burst refused with "retry in 58 s" takes the burst as the ceiling', async () => {
    const { limiter, request, accepted, clock } = setUp();
    await accepted(5, 0);
    clock.advance(2000);
    await request(quota429(58));
    // The server's window is full of our five: five per 60 s, a little over five per 62 s.
    expect(limiter.ceiling()).toBeCloseTo((5 * 62) / 60);
    expect(limiter.waitTime()).toBeGreaterThan(55_000);
  });

  test('failed 5xx starts are not accepted starts', async () => {
    const { limiter, request, accepted, clock } = setUp();
    await accepted(1, 5000);
    // 20 starts 3 s apart (5 … 62 s), every other one a 503; the one at 65 s is refused.
    for (let i = 0; i < 20; i++) {
      await request(i % 2 ? ok : e503);
      clock.advance(3000);
    }
    await request(quota429(5));
    expect(limiter.ceiling()).toBe(10);
  });

  test("an image's own retry never lowers the ceiling (503, 503, then 429)", async () => {
    const { limiter, request, accepted } = setUp();
    await accepted(10, 2000);
    await request(perMinute429, true);
    expect(limiter.ceiling()).toBeUndefined();
  });

  test('a 429 after a quiet window does not lower the ceiling', async () => {
    const { limiter, request } = setUp();
    await request(e503);
    await request(e503);
    await request(perMinute429);
    expect(limiter.ceiling()).toBeUndefined();
  });

  test('a 429 that names no per-minute quota pauses but does not lower', async () => {
    const { limiter, request, accepted, clock } = setUp();
    await accepted(10, 2000);
    await request(plain429);
    expect(limiter.ceiling()).toBeUndefined();
    limiter.pauseUntil(clock.now() + 1000);
    expect(limiter.waitTime()).toBe(1000);
  });
});

describe('the ceiling recovers', () => {
  test('+10% per clean window, without bound when nothing is configured', async () => {
    const { limiter, request, accepted, busyFor } = setUp();
    await accepted(21, 3000);
    await request(perMinute429);
    expect(limiter.ceiling()).toBe(20);
    // The first window after the cut opens with its first start (65 s), so it closes at 127 s.
    await busyFor(WINDOW);
    expect(limiter.ceiling()).toBe(20);
    await busyFor(WINDOW);
    expect(limiter.ceiling()).toBe(22);
    await busyFor(WINDOW);
    expect(limiter.ceiling()).toBeCloseTo(24.2);
    for (let i = 0; i < 20; i++) await busyFor(WINDOW);
    expect(limiter.ceiling()).toBeGreaterThan(100);
  });

  test('a window the ceiling was not tried in is not clean', async () => {
    const { limiter, request, accepted, clock } = setUp();
    await accepted(21, 3000);
    await request(perMinute429);
    // Idle (or paused by the 429's own delay): nothing says the server would take more.
    clock.advance(5 * WINDOW);
    expect(limiter.ceiling()).toBe(20);
    // Half the ceiling used for a window is not a clean window either.
    await accepted(10, 6200);
    expect(limiter.ceiling()).toBe(20);
  });

  test('up to the configured requestsPerMinute, and no further', async () => {
    const { limiter, request, accepted, busyFor } = setUp({ requestsPerMinute: 30 });
    await accepted(21, 3000);
    await request(perMinute429);
    expect(limiter.ceiling()).toBe(20);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      await busyFor(WINDOW);
      seen.push(Math.round((limiter.ceiling() ?? 0) * 100) / 100);
    }
    expect(seen).toEqual([20, 22, 24.2, 26.62, 29.28, 30, 30, 30, 30, 30]);
  });

  test('a window with a cut is not clean: recovery counts from the cut', async () => {
    const { limiter, request, accepted, clock, busyFor } = setUp();
    await accepted(21, 3000);
    await request(perMinute429);
    clock.advance(WINDOW / 2);
    await accepted(1, 0);
    await request(perMinute429);
    // min(20 x 0.9, the 11 accepted in the half-empty window before this refusal).
    expect(limiter.ceiling()).toBe(11);
    await busyFor(WINDOW);
    expect(limiter.ceiling()).toBe(11);
    await busyFor(WINDOW);
    expect(limiter.ceiling()).toBe(12.1);
  });
});
