import { describe, expect, test } from 'vitest';
import type { PlanSource } from '../src/batch/plan.ts';
import type { PlannedImage } from '../src/batch/types.ts';
import { VirtualClock } from '../src/util/clock.ts';
import { caseAll, progressOf, readJson, runAgainstFake } from './support/engine.ts';
import { type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';
import { useFakeGemini } from './support/fake-world.ts';

// The failure breaker and the limiter's rules through the engine: the real @google/genai client
// against the fake Gemini, on a virtual clock.

let fake: FakeGemini;
let root: string;
useFakeGemini((world) => {
  ({ fake, root } = world);
});

/** The 13 images of the three sample cases, as one batch. */
function allSamples(): PlanSource {
  const images: PlannedImage[] = [];
  for (const [caseId, suspects] of [
    ['case-2025-01-19', 3],
    ['case-2025-01-20', 3],
    ['case-2025-01-21', 4],
  ] as const) {
    for (let i = 1; i <= suspects; i++) images.push({ type: 'suspect', caseId, suspectId: `suspect-${i}` });
    images.push({ type: 'scene', caseId });
  }
  return { kind: 'images', images };
}

const elapsed = (clock: VirtualClock) => clock.now() - Date.UTC(2025, 0, 19, 10);

describe('the failure breaker', () => {
  test('more than 30% of the last 10 images failing stops the batch (exit 3, rest pending)', async () => {
    fake.setDefault({ kind: 'status', status: 503 });
    const { summary } = await runAgainstFake(root, fake, { source: allSamples() });
    expect(summary.exitCode).toBe(3);
    expect(summary.failed).toBe(10);
    expect(summary.pending).toBe(3);
    // Three attempts for each of the ten judged images, none for the three left.
    expect(fake.requests).toHaveLength(30);
    expect(summary.stopReason).toMatch(/10 of the last 10 images failed .*stopOnFailureRate 0.3.*api_error/);
    const report = (await readJson(summary.errorReportFile)) as { recommendations: string[] };
    expect(report.recommendations[0]).toMatch(/server errors \(5xx\)/);
    const progress = await progressOf(root, summary.batchId);
    expect(progress.status).toBe('stopped');
    expect(progress.pending).toHaveLength(3);
  });

  test('a failure rate at the limit (3 of 10) does not stop it', async () => {
    let calls = 0;
    // Images 2, 5 and 8 fail all three attempts; the rest succeed at once.
    const failing = new Set([2, 5, 8]);
    let image = 0;
    let attempt = 0;
    fake.setHandler(() => {
      calls += 1;
      if (attempt === 0) image += 1;
      if (failing.has(image)) {
        attempt = (attempt + 1) % 3;
        return { kind: 'status', status: 503 };
      }
      attempt = 0;
      return { kind: 'image' };
    });
    const { summary } = await runAgainstFake(root, fake, { source: allSamples() });
    expect(calls).toBe(13 + 3 * 2);
    expect(summary.failed).toBe(3);
    expect(summary.exitCode).toBe(1);
  });

  test('a small batch still runs to its end, however much fails', async () => {
    fake.setDefault({ kind: 'status', status: 503 });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(1);
    expect(summary.failed).toBe(4);
    expect(summary.pending).toBe(0);
    expect(fake.requests).toHaveLength(12);
  });

  test('5 consecutive 429s with no success between them stop the batch (exit 3)', async () => {
    fake.enqueue({ kind: 'image' });
    fake.setDefault({ kind: 'rate-limit', retryDelaySec: 1 });
    const { summary } = await runAgainstFake(root, fake, { source: allSamples() });
    expect(summary.exitCode).toBe(3);
    expect(fake.requests).toHaveLength(6);
    expect(summary.successful).toBe(1);
    expect(summary.pending).toBe(12);
    expect(summary.failed).toBe(0);
    expect(summary.stopReason).toMatch(/5 rate-limit answers \(429\) in a row/);
    const report = (await readJson(summary.errorReportFile)) as { recommendations: string[] };
    expect(report.recommendations[0]).toMatch(/kept answering 429/);
  });

  test('a success between 429s resets the count', async () => {
    const r = { kind: 'rate-limit', retryDelaySec: 1 } as const;
    fake.enqueue(r, r, r, r, { kind: 'image' }, r, r, r, r);
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    expect(fake.count('rate-limit')).toBe(8);
  });

  test('null turns each trigger off', async () => {
    fake.setDefault({ kind: 'status', status: 503 });
    const off = { retry: { stopOnFailureRate: null, stopAfterRateLimits: null } };
    const { summary } = await runAgainstFake(root, fake, { source: allSamples(), config: off });
    expect(summary.exitCode).toBe(1);
    expect(summary.failed).toBe(13);

    const r = { kind: 'rate-limit', retryDelaySec: 1 } as const;
    fake.setDefault({ kind: 'image' });
    fake.enqueue(r, r, r, r, r, r, r);
    const again = await runAgainstFake(root, fake, {
      source: caseAll(),
      force: true,
      config: off,
    });
    expect(again.summary.exitCode).toBe(0);
  });
});

describe('the limiter through the engine', () => {
  test("a 429 on an image's retry after 503s does not make the next image wait a minute", async () => {
    fake.enqueue(
      { kind: 'image' },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
      { kind: 'rate-limit', retryDelaySec: 1 },
    );
    const clock = new VirtualClock();
    const { summary } = await runAgainstFake(root, fake, { source: caseAll(), clock });
    expect(summary.exitCode).toBe(0);
    // 503 waits (5 s, ~5 s) and the 1 s pause, no minute-long window.
    expect(elapsed(clock)).toBeLessThan(30_000);
  });

  test("a real per-minute quota is learned from the 429's QuotaFailure, not hit every window", async () => {
    const clock = new VirtualClock();
    const quota = await startFakeGemini({ requestsPerMinute: 3, now: () => clock.now() });
    try {
      const { summary } = await runAgainstFake(root, quota, {
        source: allSamples(),
        clock,
        config: { timing: { delayBetweenImages: 0 } },
      });
      expect(summary.exitCode).toBe(0);
      // The first burst of three is refused at the fourth; after that three per window, and one
      // probe for a fourth after a clean window. Without learning: one 429 per window (4 here).
      expect(quota.count('quota')).toBeLessThanOrEqual(2);
      expect(quota.count('image')).toBe(13);
    } finally {
      await quota.close();
    }
  });

  test('one per-minute 429 in the middle of a run costs its delay, not a minute per window', async () => {
    fake.enqueue({ kind: 'image' }, { kind: 'image' }, { kind: 'image' }, { kind: 'image' });
    fake.enqueue({ kind: 'image' }, { kind: 'rate-limit', retryDelaySec: 1 });
    const clock = new VirtualClock();
    const { summary } = await runAgainstFake(root, fake, { source: allSamples(), clock });
    expect(summary.exitCode).toBe(0);
    // 13 images 2 s apart (24 s), one more request, the 1 s pause: well under a minute.
    expect(elapsed(clock)).toBeLessThan(30_000);
  });
});
