import { describe, expect, test } from 'vitest';
import { readManifest } from '../src/cases/manifest-store.ts';
import { manifestSchema } from '../src/cases/schema.ts';
import { buildGalleryTable, galleryImagesFromManifest } from '../src/github/gallery.ts';
import { actualCostUsd, usageFromMetadata } from '../src/providers/usage-cost.ts';
import { caseAll, progressOf, readJson, runAgainstFake } from './support/engine.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import { useFakeGemini } from './support/fake-world.ts';

describe('token usage by modality', () => {
  test('splits image, text and thoughts from a real-shaped usageMetadata', () => {
    const usage = usageFromMetadata({
      promptTokenCount: 40,
      candidatesTokenCount: 1130,
      thoughtsTokenCount: 210,
      totalTokenCount: 1380,
      candidatesTokensDetails: [
        { modality: 'IMAGE' as never, tokenCount: 1120 },
        { modality: 'TEXT' as never, tokenCount: 10 },
      ],
    });
    expect(usage).toEqual({ prompt: 40, image: 1120, text: 10, thoughts: 210, total: 1380 });
  });

  test('without a breakdown the candidates are text; without metadata there is no usage', () => {
    expect(usageFromMetadata({ promptTokenCount: 5, candidatesTokenCount: 7 })).toEqual({
      prompt: 5,
      image: 0,
      text: 7,
      thoughts: 0,
      total: 12,
    });
    expect(usageFromMetadata(undefined)).toBeUndefined();
  });

  test('prices tokens per modality, thoughts as text output, half in batch mode', () => {
    const usage = { prompt: 1000, image: 1120, text: 0, thoughts: 0, total: 2120 };
    // 1,120 image tokens at $30/M is Google's $0.0336 a 1K image of Nano Banana 2.1, plus $0.0015 of prompt.
    expect(actualCostUsd('gemini-nano-banana-2.1', usage, 'sync')).toBeCloseTo(0.0351, 6);
    expect(actualCostUsd('gemini-nano-banana-2.1', usage, 'batch')).toBeCloseTo(0.01755, 6);
    const thinking = { prompt: 0, image: 1120, text: 0, thoughts: 1000, total: 2120 };
    // 3.1 Flash Image: $60/M image, $3/M thinking.
    expect(actualCostUsd('gemini-3.1-flash-image', thinking, 'sync')).toBeCloseTo(0.0672 + 0.003, 7);
    expect(actualCostUsd('gemini-3.1-flash-image-preview', thinking, 'sync')).toBeCloseTo(0.0702, 7);
    expect(actualCostUsd('some-future-model', usage, 'sync')).toBeUndefined();
  });
});

describe('a run records what it really cost', () => {
  let fake: FakeGemini;
  let root: string;
  useFakeGemini((world) => {
    ({ fake, root } = world);
  });

  test('manifest, progress, error report and gallery show the actual cost beside the estimate', async () => {
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    const manifest = await readManifest(root, 'case-2025-01-19');
    const entry = manifest.images['suspect-1'];
    // The fake's Gemini 3 reply: 12 prompt tokens ($1.50/M), 1,120 image tokens ($30/M) and 180
    // thought tokens (billed as text output, $7.50/M) for the default model, Nano Banana 2.1.
    const actual = (12 * 1.5 + 1120 * 30 + 180 * 7.5) / 1e6;
    expect(entry?.costUsd).toBe(0.0336);
    expect(entry?.provenance).toMatchObject({
      promptTemplateVersion: 1,
      imageConfig: { aspectRatio: '3:4' },
      references: [],
      usage: { prompt: 12, image: 1120, text: 0, thoughts: 180, total: 1312 },
    });
    expect(entry?.provenance?.actualCostUsd).toBeCloseTo(actual, 7);
    expect(manifest.images.scene?.provenance?.imageConfig).toEqual({ aspectRatio: '16:9' });

    const progress = await progressOf(root, summary.batchId);
    expect(progress.actualCostUsd).toBeCloseTo(4 * actual, 6);
    const report = (await readJson(summary.errorReportFile)) as { metrics: Record<string, number> };
    expect(report.metrics.estimatedCostUsd).toBe(0.1344);
    expect(report.metrics.actualCostUsd).toBeCloseTo(4 * actual, 6);

    const caseData = { id: 'case-2025-01-19', suspects: [] } as never;
    const rows = galleryImagesFromManifest(caseData, manifest, () => 'prompt', ['suspect-1']);
    const table = buildGalleryTable({ owner: 'o', repo: 'r', sha: 'a'.repeat(40), images: rows });
    expect(table).toContain('$0.0336 (actual $0.035)');
  });

  test('a manifest written before provenance existed still parses', () => {
    const old = {
      caseId: 'case-2025-01-19',
      images: {
        'suspect-1': {
          file: 'suspect-1.png',
          sha256: 'a'.repeat(64),
          bytes: 10,
          width: 864,
          height: 1184,
          mimeType: 'image/png',
          provider: 'gemini',
          model: 'gemini-2.5-flash-image',
          promptHash: 'x',
          generatedAt: '2025-01-19T10:00:00Z',
          batchId: 'batch-2025-01-19-001',
          attempts: 1,
          costUsd: 0.039,
          review: { status: 'pending' },
        },
      },
    };
    const parsed = manifestSchema.parse(old);
    expect(parsed.images['suspect-1']?.provenance).toBeUndefined();
    expect(parsed.images['suspect-1']?.vision).toBeUndefined();
  });
});
