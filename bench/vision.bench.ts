import { rm } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { readManifest } from '../src/cases/manifest-store.ts';
import { DEFAULT_IMAGE_MODEL, imagePrice } from '../src/config/pricing.ts';
import { configSchema } from '../src/config/schema.ts';
import { createGeminiProvider } from '../src/providers/gemini.ts';
import { createJudgeClient } from '../src/qa/judge-client.ts';
import { VisionReview } from '../src/qa/vision-review.ts';
import { runBatch } from '../src/run/run-batch.ts';
import { startFakeGemini } from '../test/support/fake-gemini.ts';
import { makeTempRoot } from '../test/support/temp-root.ts';

/** The default image model's price at 1K (src/config/pricing.ts), as a real run pays it. */
const PRICE = imagePrice(DEFAULT_IMAGE_MODEL) ?? 0;

const CASE = 'case-2025-01-19';

/**
 * What the vision judge adds per image, as ratios to the image call:
 * - cost: the judge's tokens × the judge model's published prices (its calls on the image, plus a
 *   quarter of the case's lineup call) over the image's tokens × the image model's prices. The
 *   token counts are the fake's real-shaped usageMetadata, so this is the published arithmetic,
 *   not a measurement of Google's bill;
 * - time: wall time of whole runs with and without the judge, against the fake on loopback at zero
 *   latency (lineup's own work: base64, JSON, SDK, manifest writes). With the real API the judge's
 *   share is its server latency over the image model's, which only a live run can give.
 */
export async function benchVision(runs = 8): Promise<string[]> {
  const fake = await startFakeGemini();
  try {
    const config = configSchema.parse({ timing: { delayBetweenImages: 0 }, apiBaseUrl: fake.url });
    const provider = createGeminiProvider({
      apiKey: 'bench-key',
      model: config.model,
      apiVersion: config.apiVersion,
      baseUrl: fake.url,
      timeoutMs: 30_000,
      costPerImage: PRICE,
    });
    const client = createJudgeClient({
      apiKey: 'bench-key',
      model: config.qa.model,
      apiVersion: config.apiVersion,
      baseUrl: fake.url,
      timeoutMs: 30_000,
    });
    const run = async (withJudge: boolean) => {
      const root = await makeTempRoot();
      const started = performance.now();
      await runBatch({
        root,
        config,
        provider,
        source: { kind: 'case', caseId: CASE, type: 'all' },
        vision: withJudge
          ? new VisionReview({
              root,
              config,
              client,
              policy: 'flag',
              clock: { now: Date.now, sleep: async () => {} },
            })
          : null,
      });
      const ms = performance.now() - started;
      const manifest = await readManifest(root, CASE);
      await rm(root, { recursive: true, force: true });
      return { ms, manifest };
    };
    // Warm-up: JIT and the fake's image cache.
    await run(false);
    await run(true);
    let plainMs = 0;
    let judgedMs = 0;
    let last: Awaited<ReturnType<typeof run>>['manifest'] | undefined;
    for (let i = 0; i < runs; i++) {
      plainMs += (await run(false)).ms;
      const judged = await run(true);
      judgedMs += judged.ms;
      last = judged.manifest;
    }
    if (!last) throw new Error('no run');
    const entries = Object.values(last.images);
    const imageUsd = entries.reduce((s, e) => s + (e.provenance?.actualCostUsd ?? 0), 0) / entries.length;
    const judgeUsd =
      (entries.reduce((s, e) => s + (e.vision?.costUsd ?? 0), 0) + (last.lineup?.costUsd ?? 0)) /
      entries.length;
    const perImage = (ms: number) => ms / runs / entries.length;
    return [
      `judge cost per image (${config.qa.model}, incl. a share of the lineup call): $${judgeUsd.toFixed(5)} vs image (${config.model}) $${imageUsd.toFixed(5)}: ratio ${(judgeUsd / imageUsd).toFixed(3)}`,
      `run time per image on loopback (fake at 0 ms, ${runs} runs of ${entries.length} images): ${perImage(plainMs).toFixed(1)} ms without the judge, ${perImage(judgedMs).toFixed(1)} ms with it: ratio ${(judgedMs / plainMs).toFixed(2)}`,
      '  (with the real API the added time is the judge model’s latency per call, 1 call per image + 1 per case)',
    ];
  } finally {
    await fake.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await benchVision()) console.log(line);
}
