import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PlanItem, PlanSource } from '../src/batch/plan.ts';
import type { BatchSummary, PlannedImage } from '../src/batch/types.ts';
import { DEFAULT_IMAGE_MODEL, imagePrice } from '../src/config/pricing.ts';
import { type Config, type ConfigInput, configSchema } from '../src/config/schema.ts';
import { createGeminiProvider } from '../src/providers/gemini.ts';
import type { ImageProvider } from '../src/providers/types.ts';
import { planBatch, runBatch } from '../src/run/run-batch.ts';
import type { Clock } from '../src/util/clock.ts';
import { defaultImage, type FakeGemini, startFakeGemini } from '../test/support/fake-gemini.ts';
import { makeTempRoot } from '../test/support/temp-root.ts';

/** The default image model's price at 1K (src/config/pricing.ts), as a real run pays it. */
const PRICE = imagePrice(DEFAULT_IMAGE_MODEL) ?? 0;

/*
 * The batch engine against the fake Gemini under an enforced per-minute quota, four ways.
 *
 * The fake's quota is a rolling 60 s window; a run that fits in 10-20 real seconds would never fill
 * it, so every way would look "above the quota" with no 429 ever. So the whole scenario runs on a
 * sped-up clock shared by the engine (runBatch's `clock`) and the fake (its `now`): one bench
 * minute lasts 60/SPEED real seconds, the fake answers after LATENCY/SPEED real ms, and its
 * RetryInfo, the limiter's window, delayBetweenImages and every retry wait are in bench time.
 * Figures are reported in bench time, so they read as the real-world scenario they model.
 */

/** Real seconds per bench minute = 60 / SPEED. */
const SPEED = 20;
/** The server's requests-per-minute quota Q. */
const QUOTA = 10;
/** Server time per image L (bench ms): like a real image model, much longer than 60000/Q. */
const LATENCY_MS = 16_000;
const CONCURRENCY = 4;
const IMAGES = 24;
const KEY = 'bench-key-0123456789';
const MODEL = DEFAULT_IMAGE_MODEL;

/** Real time, sped up: now() runs SPEED times faster than the wall clock and sleeps are shorter. */
export class SpedUpClock implements Clock {
  private readonly originMs = Date.now();
  private readonly originPerf = performance.now();
  constructor(private readonly speed: number) {}
  now(): number {
    return this.originMs + (performance.now() - this.originPerf) * this.speed;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const timer = setTimeout(done, ms / this.speed);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** The benches' configuration: `over`, a request timeout far above any bench latency, a cost cap. */
export function benchConfig(over: ConfigInput = {}, maxCost = 100): Config {
  return configSchema.parse({
    ...over,
    // Real ms (the provider's AbortSignal.timeout): far above any bench latency.
    timing: { requestTimeout: 60_000, ...over.timing },
    cost: { maxCost },
  });
}

/** The real Gemini provider of the default model, talking to `fake`. */
export function geminiAt(fake: FakeGemini, config: Config, apiKey = KEY): ImageProvider {
  return createGeminiProvider({
    apiKey,
    model: MODEL,
    apiVersion: config.apiVersion,
    baseUrl: fake.url,
    timeoutMs: config.timing.requestTimeout,
    costPerImage: PRICE,
  });
}

/** A temp root with the three sample cases and a copy of each (suffix -b), so the plan has 24+ images. */
async function benchRoot(): Promise<{ root: string; images: PlannedImage[] }> {
  const root = await makeTempRoot();
  const images: PlannedImage[] = [];
  for (const id of ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21']) {
    const data = JSON.parse(await readFile(join(root, 'cases', id, 'case.json'), 'utf8')) as {
      id: string;
      suspects: Array<{ id: string }>;
    };
    const copyId = `${id}-b`;
    await mkdir(join(root, 'cases', copyId), { recursive: true });
    await writeFile(
      join(root, 'cases', copyId, 'case.json'),
      JSON.stringify({ ...data, id: copyId }, null, 2),
    );
    for (const caseId of [id, copyId]) {
      for (const s of data.suspects) images.push({ type: 'suspect', caseId, suspectId: s.id });
      images.push({ type: 'scene', caseId });
    }
  }
  return { root, images: images.slice(0, IMAGES) };
}

interface WayResult {
  label: string;
  concurrency: number;
  elapsedMs: number;
  finished: number;
  failed: number;
  calls: number;
  quota429: number;
  batchId?: string;
  root: string;
  /** Bench seconds after the start at which each 429 was sent. */
  quotaAt: number[];
}

/** Way (a): the seed's literal loop: request, save, then sleep delayBetweenImages; no retry. */
async function seedLoop(fake: FakeGemini, clock: Clock, gapMs: number): Promise<Omit<WayResult, 'label'>> {
  const { root, images } = await benchRoot();
  const config = benchConfig({});
  const provider = geminiAt(fake, config);
  const source: PlanSource = { kind: 'images', images };
  const plan = await planBatch({ root, config, source, force: true, provider });
  const start = clock.now();
  let finished = 0;
  let failed = 0;
  for (const item of plan.items) {
    const result = await provider.generate({
      kind: item.type,
      caseId: item.caseId,
      imageId: item.imageId,
      prompt: item.prompt,
      aspectRatio: item.aspectRatio,
    });
    if (result.ok) {
      const dir = join(root, 'cases', item.caseId, 'images');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${item.imageId}.png`), result.bytes);
      finished += 1;
    } else {
      failed += 1;
    }
    await clock.sleep(gapMs);
  }
  return {
    concurrency: 1,
    elapsedMs: clock.now() - start,
    finished,
    failed,
    calls: fake.count(),
    quota429: fake.count('quota'),
    root,
    quotaAt: [],
  };
}

async function lineup(
  fake: FakeGemini,
  clock: Clock,
  over: ConfigInput,
  concurrency: number,
): Promise<Omit<WayResult, 'label'>> {
  const { root, images } = await benchRoot();
  const config = benchConfig(over);
  const start = clock.now();
  const summary = await runBatch({
    root,
    config,
    provider: geminiAt(fake, config),
    source: { kind: 'images', images },
    force: true,
    clock,
  });
  if (summary.batchId === null) throw new Error('nothing was planned');
  const s = summary as BatchSummary;
  return {
    concurrency,
    elapsedMs: clock.now() - start,
    finished: s.successful,
    failed: s.failed + s.pending,
    calls: fake.count(),
    quota429: fake.count('quota'),
    batchId: s.batchId,
    root,
    quotaAt: [],
  };
}

/** Ceiling in images/minute: the quota, or what `concurrency` requests of latency L can do. */
function ceiling(concurrency: number): number {
  return Math.min(QUOTA, (concurrency * 60_000) / LATENCY_MS);
}

/**
 * The best any client could do for this plan: starts as early as the rolling window and the
 * concurrency allow (a fresh window lets the first Q requests go at once, so a short plan can beat
 * Q/minute on average). Returns images/minute.
 */
function bestPossible(concurrency: number, n: number): number {
  const starts: number[] = [];
  for (let i = 0; i < n; i++) {
    const byConcurrency = i >= concurrency ? (starts[i - concurrency] ?? 0) + LATENCY_MS : 0;
    const byQuota = i >= QUOTA ? (starts[i - QUOTA] ?? 0) + 60_000 : 0;
    starts.push(Math.max(byConcurrency, byQuota));
  }
  return (n * 60_000) / ((starts[n - 1] ?? 0) + LATENCY_MS);
}

async function oneWay(
  label: string,
  run: (fake: FakeGemini, clock: SpedUpClock) => Promise<Omit<WayResult, 'label'>>,
): Promise<WayResult> {
  const clock = new SpedUpClock(SPEED);
  const fake = await startFakeGemini({
    requestsPerMinute: QUOTA,
    latencyMs: LATENCY_MS / SPEED,
    now: () => clock.now(),
  });
  try {
    const t0 = clock.now();
    const result = await run(fake, clock);
    const quotaAt = fake.requests
      .filter((r) => r.reply === 'quota')
      .map((r) => Math.round((r.at - t0) / 1000));
    return { label, ...result, quotaAt };
  } finally {
    await fake.close();
  }
}

function describe(r: WayResult): string {
  const perMinute = (r.finished * 60_000) / r.elapsedMs;
  const ceil = ceiling(r.concurrency);
  const best = bestPossible(r.concurrency, IMAGES);
  const per = r.finished ? (r.calls / r.finished).toFixed(2) : 'n/a';
  return (
    `${r.label}: ${perMinute.toFixed(2)} images/min, ${(perMinute / ceil).toFixed(2)} of the ceiling ${ceil.toFixed(2)}` +
    ` (${(perMinute / best).toFixed(2)} of the best possible ${best.toFixed(2)} for ${IMAGES} images), ` +
    `${r.quota429} 429s${r.quotaAt.length ? ` (at ${r.quotaAt.join(', ')} s)` : ''}, ${per} API calls/image, ` +
    `${r.failed} failed, ${(r.elapsedMs / 1000).toFixed(0)} bench s = ${(r.elapsedMs / SPEED / 1000).toFixed(1)} real s`
  );
}

/** Resuming a finished batch must not call the API at all. */
async function resumeCalls(r: WayResult): Promise<string> {
  if (!r.batchId) throw new Error('no batch to resume');
  const fake = await startFakeGemini();
  try {
    const config = benchConfig({});
    const summary = await runBatch({
      root: r.root,
      config,
      provider: geminiAt(fake, config),
      resume: r.batchId,
    });
    const status = summary.batchId === null ? 'nothing to do' : (summary as BatchSummary).status;
    return `resume of the finished batch ${r.batchId} (way c): ${fake.count()} API calls (must be 0), status ${status}`;
  } finally {
    await fake.close();
  }
}

/** Wraps a provider to add up the time spent inside generate(). */
function timed(provider: ImageProvider): { provider: ImageProvider; ms: () => number } {
  let total = 0;
  return {
    provider: {
      name: provider.name,
      model: provider.model,
      costPerImage: provider.costPerImage,
      async generate(request) {
        const t = performance.now();
        try {
          return await provider.generate(request);
        } finally {
          total += performance.now() - t;
        }
      },
    },
    ms: () => total,
  };
}

/** The engine's own time per image (plan, limiter, save, manifest, progress, log) beyond the provider's. */
async function overhead(): Promise<string[]> {
  const fake = await startFakeGemini({ latencyMs: 0 });
  const lines: string[] = [];
  try {
    const config = benchConfig({ timing: { delayBetweenImages: 0, maxConcurrent: 1 } });
    const measure = async (provider: ImageProvider) => {
      const { root, images } = await benchRoot();
      try {
        const t = timed(provider);
        const start = performance.now();
        const summary = await runBatch({
          root,
          config,
          provider: t.provider,
          source: { kind: 'images', images },
          force: true,
        });
        const total = performance.now() - start;
        const done = summary.batchId === null ? 0 : (summary as BatchSummary).successful;
        if (done !== images.length) throw new Error(`only ${done}/${images.length} images finished`);
        return { perImage: total / done, engine: (total - t.ms()) / done, provider: t.ms() / done };
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    };
    const gemini = geminiAt(fake, config);
    await measure(gemini); // warm-up: JIT, the fake's image cache, the file system
    const g = await measure(gemini);
    lines.push(
      `engine overhead at zero latency, gemini provider vs the fake (${IMAGES} images, maxConcurrent 1): ` +
        `${g.engine.toFixed(1)} ms/image beyond the provider's own ${g.provider.toFixed(1)} ms (${g.perImage.toFixed(1)} ms/image in all)`,
    );
    const { createPlaceholderProvider } = await import('../src/providers/placeholder.ts');
    const placeholder = createPlaceholderProvider();
    await measure(placeholder);
    const p = await measure(placeholder);
    lines.push(
      `engine overhead, placeholder provider: ${p.engine.toFixed(1)} ms/image beyond the provider's own ${p.provider.toFixed(1)} ms`,
    );
  } finally {
    await fake.close();
  }
  return lines;
}

export async function benchEngine(): Promise<string[]> {
  const lines: string[] = [];
  const gap = Math.round(60_000 / QUOTA);
  lines.push(
    `scenario: ${IMAGES} images (3 sample cases + a copy of each), fake Gemini with quota Q = ${QUOTA} requests/min ` +
      `(rolling 60 s window, 429 + RetryInfo beyond it) and latency L = ${LATENCY_MS / 1000} s per request;`,
    `  clock sped up ${SPEED}x for engine and fake alike (1 bench minute = ${60 / SPEED} real s), so the 60 s window really fills;`,
    `  L > 60000/Q = ${gap} ms, as with real image models: one request at a time cannot reach the quota ` +
      `(ceiling min(Q, 60000/L) = ${ceiling(1).toFixed(2)}/min), four can (min(Q, 4*60000/L) = ${ceiling(CONCURRENCY).toFixed(2)}/min);`,
    `  "best possible" = the earliest schedule the window and concurrency allow for ${IMAGES} images ` +
      '(a fresh window lets the first Q go at once, so it can exceed Q/min).',
  );

  // Pre-encode every image the fake will serve, so no way pays for the first encoding.
  {
    const { root, images } = await benchRoot();
    const config = benchConfig({});
    const fake = await startFakeGemini();
    try {
      const plan = await planBatch({
        root,
        config,
        source: { kind: 'images', images },
        force: true,
        provider: geminiAt(fake, config),
      });
      await Promise.all(plan.items.map((i: PlanItem) => defaultImage(i.prompt, i.aspectRatio)));
    } finally {
      await fake.close();
      await rm(root, { recursive: true, force: true });
    }
  }

  lines.push(...(await overhead()));

  const results: WayResult[] = [];
  results.push(
    await oneWay(`(a) seed loop: request, then sleep delayBetweenImages ${gap} ms`, (fake, clock) =>
      seedLoop(fake, clock, gap),
    ),
  );
  lines.push(describe(results[results.length - 1] as WayResult));
  results.push(
    await oneWay(`(b) lineup, maxConcurrent 1, delayBetweenImages ${gap} ms`, (fake, clock) =>
      lineup(fake, clock, { timing: { maxConcurrent: 1, delayBetweenImages: gap } }, 1),
    ),
  );
  lines.push(describe(results[results.length - 1] as WayResult));
  results.push(
    await oneWay(
      `(c) lineup, maxConcurrent ${CONCURRENCY}, requestsPerMinute ${QUOTA} (= Q), delay 0`,
      (fake, clock) =>
        lineup(
          fake,
          clock,
          {
            timing: { maxConcurrent: CONCURRENCY, delayBetweenImages: 0 },
            rateLimit: { requestsPerMinute: QUOTA },
          },
          CONCURRENCY,
        ),
    ),
  );
  const c = results[results.length - 1] as WayResult;
  lines.push(describe(c));
  results.push(
    await oneWay(
      `(d) lineup, maxConcurrent ${CONCURRENCY}, requestsPerMinute ${2 * QUOTA} (= 2Q, wrong), delay 0`,
      (fake, clock) =>
        lineup(
          fake,
          clock,
          {
            timing: { maxConcurrent: CONCURRENCY, delayBetweenImages: 0 },
            rateLimit: { requestsPerMinute: 2 * QUOTA },
          },
          CONCURRENCY,
        ),
    ),
  );
  lines.push(describe(results[results.length - 1] as WayResult));
  lines.push(await resumeCalls(c));
  for (const r of results) await rm(r.root, { recursive: true, force: true });
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchEngine()) console.log(line);
}
