import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readProgress } from '../src/batch/progress.ts';
import { readManifest } from '../src/cases/manifest-store.ts';
import { DEFAULT_MODEL } from '../src/config/schema.ts';
import { WINDOW_MARGIN_MS } from '../src/pacing/limiter.ts';
import { classifyHttpError } from '../src/providers/classify-error.ts';
import { createPlaceholderProvider } from '../src/providers/placeholder.ts';
import { runBatch } from '../src/run/run-batch.ts';
import { VirtualClock } from '../src/util/clock.ts';
import {
  caseAll,
  geminiClients,
  imagesPath,
  progressOf,
  readJson,
  runAgainstFake,
  TEST_KEY,
  testConfig,
} from './support/engine.ts';
import { defaultImage, type FakeGemini, googleError, startFakeGemini } from './support/fake-gemini.ts';
import { useFakeGemini } from './support/fake-world.ts';

let fake: FakeGemini;
let root: string;
useFakeGemini((world) => {
  ({ fake, root } = world);
});

describe('a clean run', () => {
  test('generates every image, records the manifest, progress, log and report', async () => {
    const { summary, lines } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    expect(summary.successful).toBe(4);
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests[0]?.path).toBe(`/v1beta/models/${DEFAULT_MODEL}:generateContent`);
    expect((await readdir(imagesPath(root))).sort()).toEqual([
      'manifest.json',
      'scene.png',
      'suspect-1.png',
      'suspect-2.png',
      'suspect-3.png',
    ]);
    const manifest = await readManifest(root, 'case-2025-01-19');
    const entry = manifest.images['suspect-2'];
    expect(entry).toMatchObject({
      provider: 'gemini',
      model: DEFAULT_MODEL,
      batchId: summary.batchId,
      attempts: 1,
      costUsd: 0.0336,
      width: 896,
      height: 1200,
      review: { status: 'pending' },
    });
    expect(manifest.images.scene).toMatchObject({ width: 1376, height: 768 });
    const progress = await progressOf(root, summary.batchId);
    expect(progress.completed).toHaveLength(4);
    expect(progress.pending).toHaveLength(0);
    expect(summary.batchId).toMatch(/^batch-2025-01-19-001$/);
    expect(lines).toContain(
      `2025-01-19T10:00:00Z [${summary.batchId}] PROGRESS: 1/4 (25%) - suspect-1 complete`,
    );
    const log = await readFile(summary.logFile, 'utf8');
    expect(log.trim().split('\n')).toEqual(lines);
    const report = (await readJson(summary.errorReportFile)) as Record<string, unknown>;
    expect(report).toMatchObject({ summary: { total: 4, successful: 4, failed: 0 }, failures: [] });
    expect(report.metrics).toMatchObject({ apiCalls: 4, retryRate: 0, estimatedCostUsd: 0.1344 });
  });

  test('delayBetweenImages spaces the starts of requests, it is not a sleep after each image', async () => {
    const { clock } = await runAgainstFake(root, fake, { source: caseAll() });
    // Four starts at 0, 2000, 4000, 6000: three gaps, no sleep after the last image.
    expect(clock.now() - Date.UTC(2025, 0, 19, 10)).toBe(6000);
  });

  test('images already present are skipped unless forced', async () => {
    await runAgainstFake(root, fake, { source: caseAll() });
    await expect(runAgainstFake(root, fake, { source: caseAll() })).rejects.toThrow('nothing was planned');
    const forced = await runAgainstFake(root, fake, { source: caseAll(), force: true });
    expect(forced.summary.successful).toBe(4);
    expect(fake.requests).toHaveLength(8);
  });
});

describe('the error table', () => {
  test('429 with RetryInfo waits the server retryDelay, then succeeds', async () => {
    fake.enqueue({ kind: 'rate-limit', retryDelaySec: 37 });
    const { summary, clock, lines } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(5);
    expect(
      lines.some((l) =>
        l.includes('RATE_LIMIT: suspect-1 rate limited; all requests wait 37.0s (server retryDelay)'),
      ),
    ).toBe(true);
    // The retry of suspect-1 started 37 s after the refused request.
    expect(clock.now() - Date.UTC(2025, 0, 19, 10)).toBeGreaterThanOrEqual(37_000 + 6000);
    expect(summary.metrics.rateLimitHits).toBe(1);
  });

  test('429 without RetryInfo waits delayAfterRateLimit', async () => {
    fake.enqueue({ kind: 'rate-limit' });
    const { summary, clock } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    expect(clock.now() - Date.UTC(2025, 0, 19, 10)).toBeGreaterThanOrEqual(60_000 + 6000);
  });

  test('a daily-quota 429 stops the batch at once with exit 3, the rest pending', async () => {
    fake.enqueue({ kind: 'image' }, { kind: 'rate-limit', daily: true, retryDelaySec: 30 });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(3);
    expect(summary.status).toBe('stopped');
    expect(fake.requests).toHaveLength(2);
    expect(summary.successful).toBe(1);
    expect(summary.pending).toBe(3);
    const report = (await readJson(summary.errorReportFile)) as { recommendations: string[] };
    expect(report.recommendations.join('\n')).toMatch(/daily request quota/);
    expect(report.recommendations.join('\n')).toContain(`--resume ${summary.batchId}`);
  });

  test('503 then success: retried after delayAfterError, attempts recorded', async () => {
    fake.enqueue({ kind: 'status', status: 503 });
    const { summary, clock, lines } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(5);
    expect(clock.sleeps.some((ms) => ms >= 5000)).toBe(true);
    expect(lines.some((l) => l.includes('RETRY: suspect-1 attempt 2/3'))).toBe(true);
    expect((await readManifest(root, 'case-2025-01-19')).images['suspect-1']?.attempts).toBe(2);
  });

  test('500 every time: gives up after maxAttempts with exponential backoff, batch goes on', async () => {
    fake.enqueue(
      { kind: 'status', status: 500 },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 500 },
    );
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(1);
    expect(summary.failed).toBe(1);
    expect(summary.successful).toBe(3);
    expect(summary.failures[0]).toMatchObject({ errorType: 'api_error', attempts: 3, recoverable: true });
  });

  test('400 is never retried; recorded, and the batch goes on (exit 1)', async () => {
    fake.enqueue({ kind: 'status', status: 400, message: 'bad request' });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(fake.requests).toHaveLength(4);
    expect(summary.exitCode).toBe(1);
    expect(summary.failures[0]).toMatchObject({ errorType: 'validation', attempts: 1, recoverable: false });
    expect(summary.successful).toBe(3);
  });

  test.each([
    ['safety block', { kind: 'finish', finishReason: 'IMAGE_SAFETY' } as const, 'image_blocked'],
    ['blocked prompt', { kind: 'prompt-blocked' } as const, 'prompt_blocked'],
    ['no image in reply', { kind: 'text-only' } as const, 'text_only'],
    ['broken image bytes', { kind: 'not-an-image' } as const, 'undecodable_image'],
  ])('%s is a validation failure, not retried', async (_name, reply, reason) => {
    fake.enqueue(reply);
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(fake.requests).toHaveLength(4);
    expect(summary.failures[0]).toMatchObject({ errorType: 'validation', reason });
  });

  test.each([
    [401, 'auth'],
    [403, 'auth'],
    [402, 'billing'],
  ] as const)('%i stops the batch at once (exit 1), the rest pending', async (status, errorType) => {
    fake.enqueue({ kind: 'image' }, { kind: 'status', status });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(fake.requests).toHaveLength(2);
    expect(summary.exitCode).toBe(1);
    expect(summary.status).toBe('stopped');
    expect(summary.failures).toEqual([expect.objectContaining({ errorType, suspectId: 'suspect-2' })]);
    expect(summary.pending).toBe(2);
  });

  test('a request that never answers times out and is retried', async () => {
    fake.enqueue({ kind: 'hang' });
    const { summary, lines } = await runAgainstFake(root, fake, {
      source: caseAll(),
      config: { timing: { requestTimeout: 150 } },
    });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(5);
    expect(lines.some((l) => /RETRY: suspect-1 .*network/.test(l))).toBe(true);
  });

  test('a reset connection is retried with backoff', async () => {
    fake.enqueue({ kind: 'reset' });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(5);
  });

  test('per-image retries from the batch file override maxAttempts', async () => {
    fake.enqueue(...Array.from({ length: 5 }, () => ({ kind: 'status', status: 503 }) as const));
    const { summary } = await runAgainstFake(root, fake, {
      source: {
        kind: 'images',
        images: [{ type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-1', retries: 6 }],
      },
    });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(6);
  });

  test('stopOnError stops after the first failed image (exit 3)', async () => {
    fake.enqueue({ kind: 'status', status: 400 });
    const { summary } = await runAgainstFake(root, fake, {
      source: {
        kind: 'images',
        images: [
          { type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-1' },
          { type: 'scene', caseId: 'case-2025-01-19' },
        ],
        options: { stopOnError: true },
      },
    });
    expect(summary.exitCode).toBe(3);
    expect(fake.requests).toHaveLength(1);
    expect(summary.pending).toBe(1);
  });

  test('a bad key (400 API_KEY_INVALID) stops the batch as auth, and a resume with a good key finishes', async () => {
    const body = JSON.stringify({
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key.',
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
      },
    });
    expect(classifyHttpError(400, body).errorType).toBe('auth');
    fake.setDefault({
      kind: 'status',
      status: 400,
      message: 'API key not valid. Please pass a valid API key.',
    });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(1);
    expect(summary.status).toBe('stopped');
    expect(fake.requests).toHaveLength(1);
    expect(summary.failures[0]).toMatchObject({ errorType: 'auth', recoverable: true });
    fake.setDefault({ kind: 'image' });
    const resumed = await runAgainstFake(root, fake, { resume: summary.batchId });
    expect(resumed.summary.exitCode).toBe(0);
    expect(resumed.summary.successful).toBe(4);
  });
});

describe('unknown errors and the advice of the error report', () => {
  test('an unknown error (HTTP 418) is retried like a 5xx and recorded with its raw message after maxAttempts', async () => {
    // FakeReply's statuses all map to known classes, so a route of its own answers 418 to every
    // generateContent request (extra routes are tried first).
    const teapot = "I'm a teapot; brew something else.";
    let hits = 0;
    const odd = await startFakeGemini({
      extraRoutes: [
        {
          method: 'POST',
          path: /:generateContent$/,
          handle: ({ res }) => {
            hits += 1;
            const text = JSON.stringify(googleError(418, teapot));
            res.writeHead(418, { 'content-type': 'application/json; charset=UTF-8' });
            res.end(text);
          },
        },
      ],
    });
    try {
      const { summary, clock, lines } = await runAgainstFake(root, odd, {
        source: {
          kind: 'images',
          images: [{ type: 'suspect', caseId: 'case-2025-01-19', suspectId: 'suspect-1' }],
        },
      });
      // maxAttempts (3) requests, as for api_error; not given up at once as validation is.
      expect(hits).toBe(3);
      expect(summary.exitCode).toBe(1);
      expect(summary.status).not.toBe('stopped');
      expect(summary.failed).toBe(1);
      expect(summary.failures).toEqual([
        expect.objectContaining({
          errorType: 'unknown',
          reason: 'http',
          suspectId: 'suspect-1',
          attempts: 3,
          recoverable: true,
        }),
      ]);
      expect(summary.failures[0]?.error).toContain('HTTP 418');
      expect(summary.failures[0]?.error).toContain(teapot);
      // Retried after delayAfterError (5000 > the first backoffs), each retry logged with the cause.
      expect(lines.filter((l) => l.includes('RETRY: suspect-1 attempt'))).toHaveLength(2);
      expect(
        lines.some((l) => l.includes('RETRY: suspect-1 attempt 2/3 in 5.0s after unknown: HTTP 418')),
      ).toBe(true);
      expect(lines.some((l) => l.includes('RETRY: suspect-1 attempt 3/3 in 5.0s after unknown'))).toBe(true);
      expect(clock.sleeps.filter((ms) => ms >= 5000)).toHaveLength(2);
      const report = (await readJson(summary.errorReportFile)) as {
        failures: Array<Record<string, unknown>>;
        recommendations: string[];
      };
      expect(report.failures).toEqual([
        expect.objectContaining({
          errorType: 'unknown',
          attempts: 3,
          error: expect.stringContaining(teapot),
        }),
      ]);
      expect(report.recommendations.join('\n')).toContain(`--resume ${summary.batchId}`);
    } finally {
      await odd.close();
    }
  });

  async function recommendationsFor(...replies: Parameters<FakeGemini['enqueue']>): Promise<string> {
    fake.enqueue(...replies);
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    const report = (await readJson(summary.errorReportFile)) as { recommendations: string[] };
    return report.recommendations.join('\n');
  }

  test('a 401 advises checking the GEMINI_API_KEY secret', async () => {
    const advice = await recommendationsFor({ kind: 'status', status: 401 });
    expect(advice).toMatch(/API key was refused \(401\/403\)/);
    expect(advice).toContain('GEMINI_API_KEY');
    expect(advice).not.toMatch(/billing/i);
  });

  test('a 402 advises adding credit or enabling billing', async () => {
    const advice = await recommendationsFor({ kind: 'status', status: 402 });
    expect(advice).toMatch(/Billing refused the request \(402\)/);
    expect(advice).toMatch(/prepaid credit|enable billing/);
    expect(advice).not.toContain('GEMINI_API_KEY');
  });

  test('an IMAGE_SAFETY block advises softening that image’s description, naming its case.json', async () => {
    const advice = await recommendationsFor({ kind: 'finish', finishReason: 'IMAGE_SAFETY' });
    expect(advice).toContain(
      'case-2025-01-19/suspect-1 was blocked by the safety filter: soften its description in cases/case-2025-01-19/case.json',
    );
    expect(advice).toContain('--force');
    expect(advice).not.toContain('GEMINI_API_KEY');
  });
});

describe('cost cap and resume', () => {
  test('--max-cost stops before the request that would pass it; resume finishes without re-requesting', async () => {
    const first = await runAgainstFake(root, fake, {
      source: caseAll(),
      config: { cost: { maxCost: 0.1 } },
      explicitMaxCost: true,
    });
    expect(first.summary.exitCode).toBe(3);
    expect(first.summary.successful).toBe(2);
    expect(first.summary.pending).toBe(2);
    expect(fake.requests).toHaveLength(2);
    const resumed = await runAgainstFake(root, fake, { resume: first.summary.batchId });
    expect(resumed.summary.exitCode).toBe(0);
    expect(resumed.summary.successful).toBe(4);
    expect(resumed.summary.costUsd).toBeCloseTo(0.1344);
    expect(fake.requests).toHaveLength(4);
    const prompts = fake.requests.map((r) => r.prompt);
    expect(new Set(prompts).size).toBe(4);
    // Resuming a finished batch calls nothing.
    await runAgainstFake(root, fake, { resume: first.summary.batchId });
    expect(fake.requests).toHaveLength(4);
  });

  test('without --max-cost, an estimate over cost.maxCost is refused before any request', async () => {
    await expect(
      runAgainstFake(root, fake, { source: caseAll(), config: { cost: { maxCost: 0.1 } } }),
    ).rejects.toThrow(/over cost.maxCost/);
    expect(fake.requests).toHaveLength(0);
    await expect(readdir(join(root, 'reports'))).rejects.toThrow();
  });

  test('a resumed batch retries recoverable failures only', async () => {
    fake.enqueue(
      { kind: 'status', status: 400 },
      ...Array.from({ length: 3 }, () => ({ kind: 'status', status: 503 }) as const),
    );
    const first = await runAgainstFake(root, fake, { source: caseAll() });
    expect(first.summary.failed).toBe(2);
    const resumed = await runAgainstFake(root, fake, { resume: first.summary.batchId });
    // suspect-2 (503 x3, recoverable) is retried; suspect-1 (400) is not.
    expect(resumed.summary.successful).toBe(3);
    expect(resumed.summary.failed).toBe(1);
    expect(fake.requests).toHaveLength(1 + 3 + 2 + 1);
  });

  test('the cost cap is per run: a batch stopped by it goes on when resumed', async () => {
    const capped = { cost: { maxCost: 0.08 } };
    const first = await runAgainstFake(root, fake, {
      source: caseAll(),
      explicitMaxCost: true,
      config: capped,
    });
    expect(first.summary.successful).toBe(2);
    const resumed = await runAgainstFake(root, fake, {
      resume: first.summary.batchId,
      explicitMaxCost: true,
      config: capped,
    });
    expect(resumed.summary.exitCode).toBe(0);
    expect(resumed.summary.successful).toBe(4);
  });

  test('a gemini batch is not resumed with another provider', async () => {
    const first = await runAgainstFake(root, fake, {
      source: caseAll(),
      explicitMaxCost: true,
      config: { cost: { maxCost: 0.08 } },
    });
    await expect(
      runBatch({
        root,
        config: testConfig(),
        provider: createPlaceholderProvider(),
        clock: new VirtualClock(),
        resume: first.summary.batchId,
      }),
    ).rejects.toThrow(/was started with gemini\/gemini-nano-banana-2\.1; resume it with the same provider/);
  });

  test('a resume does not pay again for an image another batch made since it started', async () => {
    const first = await runAgainstFake(root, fake, {
      source: caseAll(),
      explicitMaxCost: true,
      config: { cost: { maxCost: 0.08 } },
    });
    expect(first.summary.pending).toBe(2);
    // Meanwhile a nightly fix made the scene (recorded later than this batch's start).
    const other = await runAgainstFake(root, fake, {
      source: { kind: 'images', images: [{ type: 'scene', caseId: 'case-2025-01-19' }] },
    });
    const { updateManifest } = await import('../src/cases/manifest-store.ts');
    await updateManifest(root, 'case-2025-01-19', (m) => {
      const scene = m.images.scene;
      if (scene) scene.generatedAt = new Date(Date.now() + 60_000).toISOString();
    });
    const before = fake.requests.length;
    const resumed = await runAgainstFake(root, fake, { resume: first.summary.batchId });
    expect(resumed.lines.some((l) => l.includes(`SKIPPED: scene was made by ${other.summary.batchId}`))).toBe(
      true,
    );
    expect(fake.requests.length - before).toBe(1);
    expect(resumed.summary.exitCode).toBe(0);
  });
});

describe('rate limits', () => {
  test('requestsPerMinute is never exceeded, even with maxConcurrent 4', async () => {
    // Starts are read off the runner's own clock: the fake sees virtual time move while HTTP is in flight.
    const cases = ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21'];
    const images = cases.flatMap((caseId) => [
      { type: 'scene' as const, caseId },
      ...['suspect-1', 'suspect-2', 'suspect-3'].map((suspectId) => ({
        type: 'suspect' as const,
        caseId,
        suspectId,
      })),
    ]);
    const clock = new VirtualClock();
    const starts: number[] = [];
    const { summary } = await runAgainstFake(root, fake, {
      source: { kind: 'images', images },
      config: { timing: { maxConcurrent: 4, delayBetweenImages: 0 }, rateLimit: { requestsPerMinute: 3 } },
      clock,
      onStart: () => starts.push(clock.now()),
    });
    expect(summary.exitCode).toBe(0);
    expect(starts).toHaveLength(12);
    for (const t of starts)
      expect(starts.filter((s) => s > t - 60_000 && s <= t).length).toBeLessThanOrEqual(3);
    // 12 requests at 3 per window: the last starts in the fourth window, not later.
    expect((starts.at(-1) ?? 0) - (starts[0] ?? 0)).toBe(3 * (60_000 + WINDOW_MARGIN_MS));
  });

  test('requestsPerDay stops the batch with exit 3 when reached', async () => {
    const { summary } = await runAgainstFake(root, fake, {
      source: caseAll(),
      config: { rateLimit: { requestsPerDay: 2 } },
    });
    expect(summary.exitCode).toBe(3);
    expect(fake.requests).toHaveLength(2);
  });

  test('the key never reaches any file the run writes', async () => {
    fake.enqueue({ kind: 'status', status: 401, message: `API key ${TEST_KEY} not valid` });
    await runAgainstFake(root, fake, { source: caseAll() });
    const { spawnSync } = await import('node:child_process');
    const grep = spawnSync('grep', ['-rl', TEST_KEY, root], { encoding: 'utf8' });
    expect(grep.status).toBe(1); // grep: no file matched
    expect(grep.stdout).toBe('');
  });

  test('one 429 on the very first request does not cripple the rest of the run', async () => {
    const clock = new VirtualClock();
    fake.enqueue({ kind: 'rate-limit', retryDelaySec: 1 });
    await runAgainstFake(root, fake, {
      source: caseAll(),
      clock,
      config: { rateLimit: { requestsPerMinute: 30 }, timing: { delayBetweenImages: 0 } },
    });
    expect(clock.now() - Date.UTC(2025, 0, 19, 10)).toBeLessThan(10_000);
  });
});

describe('quality checks in the loop', () => {
  test('an image failing the checks is asked for again within its attempts', async () => {
    let calls = 0;
    const { summary, lines } = await runAgainstFake(root, fake, {
      source: { kind: 'images', images: [{ type: 'scene', caseId: 'case-2025-01-19' }] },
      check: () => (++calls === 1 ? ['blank'] : []),
    });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(2);
    expect(lines.some((l) => l.includes('RETRY: scene attempt 2/3 after failed quality checks: blank'))).toBe(
      true,
    );
    expect((await readManifest(root, 'case-2025-01-19')).images.scene).toMatchObject({
      attempts: 2,
      quality: [],
    });
    expect(summary.costUsd).toBeCloseTo(0.0672);
  });

  test('an image failing every time is kept with its flags and recorded as a validation failure', async () => {
    const { summary } = await runAgainstFake(root, fake, {
      source: { kind: 'images', images: [{ type: 'scene', caseId: 'case-2025-01-19' }] },
      check: () => ['near-duplicate'],
    });
    expect(summary.exitCode).toBe(1);
    expect(fake.requests).toHaveLength(3);
    expect(summary.failures[0]).toMatchObject({ errorType: 'validation', reason: 'quality', attempts: 3 });
    expect((await readManifest(root, 'case-2025-01-19')).images.scene?.quality).toEqual(['near-duplicate']);
  });

  test('an image kept after failing the quality checks is not adopted as finished on resume --force', async () => {
    const check = (item: { imageId: string }) => (item.imageId === 'suspect-1' ? ['too-dark'] : []);
    const { summary } = await runAgainstFake(root, fake, { source: caseAll(), check });
    expect(summary.failed).toBe(1);
    const before = fake.requests.length;
    const resumed = await runAgainstFake(root, fake, { resume: summary.batchId, force: true });
    expect(resumed.lines.some((l) => l.includes('RECOVERED'))).toBe(false);
    expect(fake.requests.length - before).toBe(1);
    expect((await readManifest(root, 'case-2025-01-19')).images['suspect-1']?.quality).toEqual([]);
  });
});

describe('resume after a crash', () => {
  test('old images the batch must replace are requested, even when their files look new (a fresh checkout)', async () => {
    await runAgainstFake(root, fake, { source: caseAll() });
    const stopped = await runAgainstFake(root, fake, {
      source: caseAll(),
      force: true,
      config: { cost: { maxCost: 0.01 } },
      explicitMaxCost: true,
    });
    expect(stopped.summary.pending).toBe(4);
    const later = new Date(Date.now() + 60_000);
    for (const f of await readdir(imagesPath(root))) await utimes(join(imagesPath(root), f), later, later);
    const resumed = await runAgainstFake(root, fake, { resume: stopped.summary.batchId });
    expect(resumed.lines.some((l) => l.includes('RECOVERED'))).toBe(false);
    expect(fake.requests).toHaveLength(8);
    const manifest = await readManifest(root, 'case-2025-01-19');
    expect(manifest.images['suspect-1']?.batchId).toBe(stopped.summary.batchId);
  });

  test('an image saved just before the crash is recorded, not requested again', async () => {
    const stopped = await runAgainstFake(root, fake, {
      source: caseAll(),
      config: { cost: { maxCost: 0.01 } },
      explicitMaxCost: true,
    });
    // The crash came after the image was renamed into place, before the manifest and progress.
    const { createPlaceholderProvider } = await import('../src/providers/placeholder.ts');
    const { readImageHeader } = await import('../src/images/inspect.ts');
    const drawn = await createPlaceholderProvider().generate({
      kind: 'scene',
      caseId: 'case-2025-01-19',
      imageId: 'scene',
      prompt: 'a scene',
      aspectRatio: '16:9',
    });
    if (!drawn.ok) throw new Error('placeholder failed');
    await mkdir(imagesPath(root), { recursive: true });
    await writeFile(join(imagesPath(root), 'scene.png'), drawn.bytes);
    expect(readImageHeader(drawn.bytes)).not.toBeNull();
    // A gemini batch never adopts a placeholder-marked file...
    let resumed = await runAgainstFake(root, fake, {
      resume: stopped.summary.batchId,
      config: { cost: { maxCost: 0.01 } },
      explicitMaxCost: true,
    });
    expect(resumed.lines.some((l) => l.includes('RECOVERED'))).toBe(false);
    // ...but adopts a real image written after the batch started.
    const png = await defaultImage('a scene', '16:9', 'image/png');
    await writeFile(join(imagesPath(root), 'scene.png'), png.bytes);
    resumed = await runAgainstFake(root, fake, { resume: stopped.summary.batchId });
    expect(
      resumed.lines.some((l) => l.includes('RECOVERED: scene was finished before the interruption')),
    ).toBe(true);
    expect(fake.requests.map((r) => r.prompt).filter((p) => p.includes('crime scene'))).toHaveLength(0);
    expect(fake.requests).toHaveLength(3);
  });

  test('Ctrl-C waits for the image in flight (it is paid for) and leaves the rest pending', async () => {
    const { config, provider } = geminiClients(fake.url);
    const controller = new AbortController();
    fake.enqueue({ kind: 'image', latencyMs: 300 });
    fake.waitForRequests(1).then(() => controller.abort());
    const result = await runBatch({
      root,
      config,
      provider,
      clock: new VirtualClock(),
      source: caseAll(),
      signal: controller.signal,
    });
    if (result.batchId === null) throw new Error('nothing planned');
    expect(result.exitCode).toBe(3);
    expect(fake.requests).toHaveLength(1);
    expect(result.successful).toBe(1);
    expect(result.pending).toBe(3);
  });

  test('a crash inside one worker stops the others and leaves the batch resumable', async () => {
    let calls = 0;
    const check = () => {
      calls += 1;
      if (calls === 2) throw new Error('disk full');
      return [];
    };
    await expect(
      runAgainstFake(root, fake, { source: caseAll(), check, config: { timing: { maxConcurrent: 2 } } }),
    ).rejects.toThrow('disk full');
    const requests = fake.requests.length;
    expect(requests).toBeLessThanOrEqual(3);
    const { readdir } = await import('node:fs/promises');
    const [file] = await readdir(`${root}/reports/progress`);
    const progress = await readProgress(root, (file ?? '').replace(/\.json$/, ''));
    expect(progress.status).toBe('stopped');
    const resumed = await runAgainstFake(root, fake, { resume: progress.batchId });
    expect(resumed.summary.exitCode).toBe(0);
    expect(resumed.summary.successful).toBe(4);
  });
});

test('a broken manifest is found before the first request (exit 2, nothing written)', async () => {
  await mkdir(imagesPath(root), { recursive: true });
  await writeFile(join(imagesPath(root), 'manifest.json'), '{bad');
  await expect(runAgainstFake(root, fake, { source: caseAll() })).rejects.toThrow(
    /manifest\.json: is not valid JSON/,
  );
  expect(fake.requests).toHaveLength(0);
  await expect(readdir(join(root, 'reports'))).rejects.toThrow();
});

test('temp files a killed run left behind are cleared, young ones (a write in progress) kept', async () => {
  await mkdir(imagesPath(root), { recursive: true });
  const old = join(imagesPath(root), '.0123456789ab.tmp');
  const young = join(imagesPath(root), '.ba9876543210.tmp');
  await writeFile(old, 'torn');
  await writeFile(young, 'in progress');
  const past = new Date(Date.now() - 3_600_000);
  await utimes(old, past, past);
  await runAgainstFake(root, fake, { source: caseAll() });
  const names = await readdir(imagesPath(root));
  expect(names).not.toContain('.0123456789ab.tmp');
  expect(names).toContain('.ba9876543210.tmp');
});

test('requestsPerDay holds across runs on the same day', async () => {
  const config = { rateLimit: { requestsPerDay: 5 } };
  const first = await runAgainstFake(root, fake, { source: caseAll(), config });
  expect(first.summary.exitCode).toBe(0);
  const second = await runAgainstFake(root, fake, { source: caseAll('case-2025-01-20'), config });
  expect(second.summary.exitCode).toBe(3);
  expect(second.summary.stopReason).toMatch(/requestsPerDay \(5\) is reached/);
  expect(fake.requests).toHaveLength(5);
  // The next day starts afresh.
  const nextDay = new VirtualClock(Date.UTC(2025, 0, 20, 10));
  const third = await runAgainstFake(root, fake, { resume: second.summary.batchId, config, clock: nextDay });
  expect(third.summary.exitCode).toBe(0);
  expect(fake.requests).toHaveLength(8);
});
