import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BatchSummary, PlannedImage } from '../src/batch/types.ts';
import { DEFAULT_IMAGE_MODEL, imagePrice } from '../src/config/pricing.ts';
import type { ConfigInput } from '../src/config/schema.ts';
import { planBatch, runBatch } from '../src/run/run-batch.ts';
import type { Clock } from '../src/util/clock.ts';
import {
  defaultImage,
  type FakeGemini,
  startFakeGemini,
  type TimedReply,
} from '../test/support/fake-gemini.ts';
import { makeTempRoot } from '../test/support/temp-root.ts';
import { benchConfig, geminiAt, SpedUpClock } from './engine.bench.ts';

/** The default image model's price at 1K (src/config/pricing.ts), as a real run pays it. */
const _PRICE = imagePrice(DEFAULT_IMAGE_MODEL) ?? 0;

/*
 * The limiter's and the breaker's figures (issue "a limiter that recovers", "a breaker for
 * failure storms"): the real engine and the real @google/genai client against the fake Gemini.
 *
 * Time is scaled, not skipped: engine and fake share one SpedUpClock (bench/engine.bench.ts), so a
 * bench minute lasts 60/SPEED real seconds. The fake's rolling quota window, its RetryInfo, the
 * limiter's 62 s window, delayBetweenImages and every retry wait are all read from that one clock,
 * so every rule sees the same proportions as in real time: the quota still refuses the (Q+1)th
 * request of a 60 s window, a RetryInfo of 1 s still lasts 1/60 of the window. What scaling does
 * stretch is the engine's own work (HTTP on loopback, writing images): a few real ms per image
 * become SPEED times as many bench ms, like a slower network, which only makes the figures err low.
 * Figures are ratios within one run of this bench, so the machine's speed cancels out.
 */

const SPEED = 30;
const KEY = 'bench-key-0123456789';
const _MODEL = DEFAULT_IMAGE_MODEL;
const MINUTE = 60_000;

/** A cost cap no bench run reaches. */
const MAX_COST = 1000;

/** A temp root with `n` images: copies of a sample case (3 suspects and a scene each). */
async function rootWith(n: number): Promise<{ root: string; images: PlannedImage[] }> {
  const root = await makeTempRoot();
  const base = 'case-2025-01-19';
  const data = JSON.parse(await readFile(join(root, 'cases', base, 'case.json'), 'utf8')) as object;
  const images: PlannedImage[] = [];
  for (let k = 0; images.length < n; k++) {
    const caseId = `${base}-x${k}`;
    await mkdir(join(root, 'cases', caseId), { recursive: true });
    await writeFile(join(root, 'cases', caseId, 'case.json'), JSON.stringify({ ...data, id: caseId }));
    for (const s of ['suspect-1', 'suspect-2', 'suspect-3'])
      images.push({ type: 'suspect', caseId, suspectId: s });
    images.push({ type: 'scene', caseId });
  }
  return { root, images: images.slice(0, n) };
}

interface Run {
  summary: BatchSummary;
  startMs: number;
  endMs: number;
}

/** One engine (one "process"): its own checkout, limiter and breaker, talking to `fake`. */
async function engine(
  fake: FakeGemini,
  clock: Clock,
  n: number,
  over: ConfigInput = {},
  apiKey = KEY,
): Promise<Run> {
  const { root, images } = await rootWith(n);
  try {
    const config = benchConfig(over, MAX_COST);
    const provider = geminiAt(fake, config, apiKey);
    const startMs = clock.now();
    const summary = await runBatch({
      root,
      config,
      provider,
      source: { kind: 'images', images },
      force: true,
      clock,
    });
    if (summary.batchId === null) throw new Error('nothing was planned');
    return { summary: summary as BatchSummary, startMs, endMs: clock.now() };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function withFake<T>(
  options: { requestsPerMinute?: number; latencyMs?: number; speed?: number },
  run: (fake: FakeGemini, clock: SpedUpClock) => Promise<T>,
): Promise<T> {
  const { speed = SPEED, ...fakeOptions } = options;
  const clock = new SpedUpClock(speed);
  const fake = await startFakeGemini({
    ...fakeOptions,
    latencyMs: (options.latencyMs ?? 0) / speed,
    now: () => clock.now(),
  });
  try {
    return await run(fake, clock);
  } finally {
    await fake.close();
  }
}

/** Images the server made in the first `windows` minutes after `from`, per minute. */
function madePerMinute(fake: FakeGemini, from: number, windows: number): number {
  const made = fake.requests.filter((r) => r.reply === 'image' && r.at - from < windows * MINUTE).length;
  return made / windows;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pass = (ok: boolean) => (ok ? 'meets the target' : 'MISSES the target');

/** (a) One 429 with RetryInfo 1 s at the 6th request of 12, nothing configured. */
async function oneBlip(): Promise<string[]> {
  const N = 12;
  const plain = await withFake({ latencyMs: 500 }, (fake, clock) => engine(fake, clock, N));
  const blip = await withFake({ latencyMs: 500 }, (fake, clock) => {
    let calls = 0;
    fake.setHandler((): TimedReply | undefined =>
      ++calls === 6 ? { kind: 'rate-limit', retryDelaySec: 1 } : undefined,
    );
    return engine(fake, clock, N);
  });
  const t0 = plain.endMs - plain.startMs;
  const t1 = blip.endMs - blip.startMs;
  const bound = 1.5 * t0 + 1000;
  return [
    `(a) ${N} images, nothing configured (delayBetweenImages 2 s), latency 0.5 s; one 429 + RetryInfo 1s at the 6th request:`,
    `    ${s(t1)} vs ${s(t0)} without it = ${(t1 / t0).toFixed(2)}x; target <= 1.5x + 1 s (${s(bound)}): ${pass(t1 <= bound)}` +
      ` (${blip.summary.successful}/${N} made)`,
  ];
}

/** (b) An unconfigured real quota of Q/min: images per minute over the first 3 windows, two shapes. */
async function realQuota(): Promise<string[]> {
  const lines: string[] = [];
  for (const shape of [
    {
      what: 'nothing configured (delayBetweenImages 2 s allows 30/min), latency 0.5 s',
      Q: 20,
      latencyMs: 500,
      speed: SPEED,
      over: {},
    },
    {
      // An image model's real latency: four in flight beat the quota, one alone could not.
      what: 'no requestsPerMinute, maxConcurrent 4, delayBetweenImages 0, latency 16 s',
      Q: 10,
      latencyMs: 16_000,
      speed: 20,
      over: { timing: { maxConcurrent: 4, delayBetweenImages: 0 } },
    },
  ]) {
    const { Q } = shape;
    const N = 4 * Q + 5;
    lines.push(
      await withFake(
        { requestsPerMinute: Q, latencyMs: shape.latencyMs, speed: shape.speed },
        async (fake, clock) => {
          const run = await engine(fake, clock, N, shape.over);
          const rate = madePerMinute(fake, fake.requests[0]?.at ?? run.startMs, 3);
          const quota = fake.count('quota');
          return (
            `(b) quota Q = ${Q}/min (429 + RetryInfo beyond it), ${shape.what}, ${N} images:\n` +
            `    ${rate.toFixed(1)} images/min over the first 3 windows = ${(rate / Q).toFixed(2)} x Q; target >= 0.9: ${pass(rate / Q >= 0.9)}` +
            `; ${quota} 429s in ${fake.count()} calls (${((100 * quota) / fake.count()).toFixed(1)}%), exit ${run.summary.exitCode}`
          );
        },
      ),
    );
  }
  return lines;
}

/** (c) Two engines (two matrix jobs) sharing one quota of Q/min, both unconfigured. */
async function sharedQuota(): Promise<string[]> {
  const Q = 40;
  const N = 2 * Q;
  return withFake({ requestsPerMinute: Q, latencyMs: 500 }, async (fake, clock) => {
    const [a, b] = await Promise.all([engine(fake, clock, N), engine(fake, clock, N)]);
    const rate = madePerMinute(fake, fake.requests[0]?.at ?? a.startMs, 3);
    const quota = fake.count('quota');
    const share = quota / fake.count();
    const finished = a.summary.successful === N && b.summary.successful === N;
    return [
      `(c) two engines, each with its own limiter and ${N} images, sharing one quota Q = ${Q}/min, both unconfigured:`,
      `    together ${rate.toFixed(1)} images/min over the first 3 windows = ${(rate / Q).toFixed(2)} x Q (target >= 0.85: ${pass(rate / Q >= 0.85)}); ` +
        `finished ${a.summary.successful}/${N} (exit ${a.summary.exitCode}) and ${b.summary.successful}/${N} (exit ${b.summary.exitCode}) (target both: ${pass(finished)}); ` +
        `${quota} 429s in ${fake.count()} calls = ${(100 * share).toFixed(1)}% (target <= 10%: ${pass(share <= 0.1)})`,
    ];
  });
}

/**
 * (e) Recovery: two engines share a quota of Q/min until the short one ends; the long one had
 * learned about half the quota, and should climb back to what its own delayBetweenImages allows
 * (30/min here) instead of keeping the shared ceiling for the rest of its run.
 */
async function recovery(): Promise<string[]> {
  const Q = 40;
  // Half the usual speed: here the engine's own work per image (scaled up with the clock) must
  // stay well under delayBetweenImages, or the figure measures the machine's load, not the limiter.
  return withFake({ requestsPerMinute: Q, latencyMs: 500, speed: SPEED / 2 }, async (fake, clock) => {
    const [, short] = await Promise.all([
      engine(fake, clock, 180, {}, `${KEY}-long`),
      engine(fake, clock, 30, {}, `${KEY}-short`),
    ]);
    const after = fake.requests.filter(
      (r) =>
        r.apiKey === `${KEY}-long` &&
        r.reply === 'image' &&
        r.at >= short.endMs + 2 * MINUTE &&
        r.at < short.endMs + 6 * MINUTE,
    ).length;
    const rate = after / 4;
    return [
      `(e) two engines share Q = ${Q}/min until the short one (30 images) ends; the long one (180 images, delayBetweenImages 2 s = 30/min at most):`,
      `    ${rate.toFixed(1)} images/min in windows 3-6 after the short one ended = ${(rate / 30).toFixed(2)} of its own 30/min ` +
        `(a ceiling that never climbs back keeps it near half the quota, ${Q / 2}/min)`,
    ];
  });
}

/** (d) Calls spent in a failure storm, with the breaker and without. */
async function storm(): Promise<string[]> {
  const N = 30;
  const off = { retry: { stopOnFailureRate: null, stopAfterRateLimits: null } };
  const lines: string[] = [];
  for (const [name, reply] of [
    ['every request 503', { kind: 'status', status: 503 }],
    ['every request 429 + RetryInfo 1s', { kind: 'rate-limit', retryDelaySec: 1 }],
  ] as const) {
    const measure = (over: ConfigInput) =>
      // No quota here, only waits: twice the speed keeps the 429 storm without the breaker short.
      withFake({ speed: 2 * SPEED }, async (fake, clock) => {
        fake.setDefault(reply);
        const run = await engine(fake, clock, N, over);
        return { calls: fake.count(), ms: run.endMs - run.startMs, exit: run.summary.exitCode };
      });
    const on = await measure({});
    const without = await measure(off);
    lines.push(
      `(d) ${N} images, ${name}: with the breaker ${on.calls} calls in ${s(on.ms)} (exit ${on.exit}), ` +
        `without ${without.calls} calls in ${s(without.ms)} (exit ${without.exit}) = ${(on.calls / without.calls).toFixed(2)}x the calls`,
    );
  }
  return lines;
}

export async function benchLimiter(): Promise<string[]> {
  // Pre-encode the images the fake serves, so no run pays for the first encoding.
  {
    const { root, images } = await rootWith(4);
    const fake = await startFakeGemini();
    try {
      const config = benchConfig({}, MAX_COST);
      const provider = geminiAt(fake, config);
      const plan = await planBatch({
        root,
        config,
        source: { kind: 'images', images },
        force: true,
        provider,
      });
      await Promise.all(plan.items.map((i) => defaultImage(i.prompt, i.aspectRatio)));
    } finally {
      await fake.close();
      await rm(root, { recursive: true, force: true });
    }
  }
  return [
    `clock sped up ${SPEED}x for engine and fake alike (1 bench minute = ${60 / SPEED} real s); times below are bench time`,
    ...(await oneBlip()),
    ...(await realQuota()),
    ...(await sharedQuota()),
    ...(await storm()),
    ...(await recovery()),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchLimiter()) console.log(line);
}
