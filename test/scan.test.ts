import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { saveImage } from '../src/batch/save-image.ts';
import { readBatchFile } from '../src/cases/batch-file.ts';
import { readCase, writeCase } from '../src/cases/case-store.ts';
import { updateManifest } from '../src/cases/manifest-store.ts';
import { imageFile, imagesDir } from '../src/cases/paths.ts';
import { regenerateMissing } from '../src/cli/scan-command.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { InputError } from '../src/errors.ts';
import { buildPrompt } from '../src/prompts/index.ts';
import { renderPlaceholderPng } from '../src/providers/placeholder.ts';
import { SIZE_FOR_ASPECT } from '../src/providers/types.ts';
import { chooseProvider, planBatch } from '../src/run/run-batch.ts';
import { missingImages } from '../src/scan/missing.ts';
import { type ImageStatus, imagesToGenerate, scanAll, scanCase } from '../src/scan/scan.ts';
import { defaultImage, type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';
import { captureOutput } from './support/output.ts';
import { makeTempRoot } from './support/temp-root.ts';

const CASE = 'case-2025-01-19';
const IMAGES = ['suspect-1', 'suspect-2', 'suspect-3', 'scene'];

/** Writes a "Gemini" image (the fake's bytes: no placeholder marker) with a manifest entry, approved. */
async function seedGood(root: string, caseId: string, approve = true): Promise<void> {
  const data = await readCase(root, caseId);
  for (const imageId of [...data.suspects.map((s) => s.id), 'scene']) {
    const built = buildPrompt(data, imageId);
    const { bytes } = await defaultImage(built.prompt, built.aspectRatio);
    await saveImage(
      root,
      caseId,
      imageId,
      {
        ok: true,
        bytes,
        mimeType: 'image/png',
        ...SIZE_FOR_ASPECT[built.aspectRatio],
        provider: 'gemini',
        model: 'gemini-2.5-flash-image',
        costUsd: 0.039,
      },
      {
        batchId: 'batch-2025-01-19-001',
        promptHash: built.promptHash,
        attempts: 1,
        generatedAt: '2025-01-19T10:00:00Z',
        mode: 'sync',
        quality: [],
      },
    );
  }
  if (approve) {
    await updateManifest(root, caseId, (m) => {
      for (const entry of Object.values(m.images))
        entry.review = { status: 'approved', by: 'alice', at: null, pullRequest: 1, feedback: null };
    });
  }
}

function byImage(images: ImageStatus[]): Record<string, string[]> {
  return Object.fromEntries(images.map((i) => [i.imageId, i.findings]));
}

describe('scan findings', () => {
  it('reports nothing for approved, current, real images', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    const images = await scanCase(root, CASE);
    expect(images.map((i) => i.imageId)).toEqual(IMAGES);
    expect(images.every((i) => i.findings.length === 0)).toBe(true);
  });

  it('finds missing, empty, corrupt and truncated images', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    await rm(imageFile(root, CASE, 'suspect-1'));
    await truncate(imageFile(root, CASE, 'suspect-2'), 0);
    await writeFile(imageFile(root, CASE, 'suspect-3'), 'this is not an image at all, just text');
    const scene = imageFile(root, CASE, 'scene');
    const bytes = await readFile(scene);
    await writeFile(scene, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const images = await scanCase(root, CASE);
    expect(byImage(images)).toEqual({
      'suspect-1': ['missing'],
      'suspect-2': ['empty'],
      'suspect-3': ['corrupt'],
      scene: ['corrupt'],
    });
    expect(images.find((i) => i.imageId === 'scene')?.details.join()).toMatch(/truncated PNG/);
    expect(images.find((i) => i.imageId === 'suspect-1')?.details.join()).toMatch(
      /manifest lists suspect-1\.png/,
    );
    expect(imagesToGenerate({ cases: 1, images, problems: [] })).toHaveLength(4);
  });

  it('finds placeholders by manifest provider and by the PNG marker', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    await updateManifest(root, CASE, (m) => {
      const e = m.images['suspect-1'];
      if (e) e.provider = 'placeholder';
    });
    // A placeholder file slipped in under a manifest entry that claims gemini.
    await writeFile(imageFile(root, CASE, 'suspect-2'), renderPlaceholderPng('x', 864, 1184, 'suspect'));
    const found = byImage(await scanCase(root, CASE));
    expect(found['suspect-1']).toEqual(['placeholder']);
    expect(found['suspect-2']).toEqual(['placeholder']);
    expect(found['suspect-3']).toEqual([]);
  });

  it('finds images made from an older version of the case text as stale', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    const data = await readCase(root, CASE);
    const s2 = data.suspects[1];
    if (!s2) throw new Error('sample case changed');
    s2.appearance = `${s2.appearance} A fresh scar across the left eyebrow.`;
    data.scene.mood = 'Frantic';
    await writeCase(root, data);
    const found = byImage(await scanCase(root, CASE));
    expect(found).toEqual({ 'suspect-1': [], 'suspect-2': ['stale'], 'suspect-3': [], scene: ['stale'] });
  });

  it('does not call an image stale for fields the prompt does not use', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    const data = await readCase(root, CASE);
    if (data.suspects[0]) data.suspects[0].alibi = 'A different alibi that is only story.';
    await writeCase(root, data);
    expect((await scanCase(root, CASE)).every((i) => i.findings.length === 0)).toBe(true);
  });

  it('finds every image stale after a prompt template change', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    vi.resetModules();
    vi.doMock('../src/prompts/templates.ts', async (importOriginal) => {
      const original = await importOriginal<typeof import('../src/prompts/templates.ts')>();
      return { ...original, PROMPT_TEMPLATE_VERSION: original.PROMPT_TEMPLATE_VERSION + 1 };
    });
    try {
      const fresh = await import('../src/scan/scan.ts');
      const found = byImage(await fresh.scanCase(root, CASE));
      expect(Object.values(found)).toEqual([['stale'], ['stale'], ['stale'], ['stale']]);
    } finally {
      vi.doUnmock('../src/prompts/templates.ts');
      vi.resetModules();
    }
  });

  it('reports awaiting review and unrecorded files without regenerating them', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    await updateManifest(root, CASE, (m) => {
      const e1 = m.images['suspect-1'];
      const e2 = m.images['suspect-2'];
      if (e1) e1.review.status = 'pending';
      if (e2)
        e2.review = { status: 'changes-requested', by: 'bob', at: null, pullRequest: 2, feedback: 'older' };
      delete m.images['suspect-3'];
    });
    const images = await scanCase(root, CASE);
    expect(byImage(images)).toEqual({
      'suspect-1': ['awaiting-review'],
      'suspect-2': ['awaiting-review'],
      'suspect-3': ['unrecorded'],
      scene: [],
    });
    expect(imagesToGenerate({ cases: 1, images, problems: [] })).toEqual([]);
  });

  it('scans every case, reports an unreadable one and goes on (a batch refuses it)', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    await writeFile(join(root, 'cases', 'case-2025-01-20', 'case.json'), '{"id": "case-2025-01-20"');
    const report = await scanAll(root);
    expect(report.cases).toBe(3);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]?.message).toMatch(/case-2025-01-20.*not valid JSON/);
    // A batch over every case does not skip the broken one in silence: it is bad input.
    await expect(missingImages(root)).rejects.toThrow(/case-2025-01-20.*not valid JSON/);
  });

  it('refuses a bad case id before touching the file system', async () => {
    const root = await makeTempRoot();
    await expect(scanCase(root, '../../etc')).rejects.toThrow(InputError);
  });
});

describe('regenerate-missing-images command', () => {
  let fake: FakeGemini;
  beforeAll(async () => {
    fake = await startFakeGemini();
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('prints a table; exit 0, or 1 with --check; 2 for bad arguments', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    await rm(imageFile(root, CASE, 'scene'));
    const out = captureOutput();
    expect(await regenerateMissing(root, { caseId: CASE }, out, {})).toBe(0);
    const text = out.lines.join('\n');
    expect(text).toMatch(/case\s+image\s+findings/);
    expect(text).toMatch(/case-2025-01-19\s+scene\s+missing\s+generate/);
    expect(text).toMatch(/1 case\(s\), 4 image\(s\): 1 to generate \(missing 1\)/);
    expect(await regenerateMissing(root, { caseId: CASE, check: true }, captureOutput(), {})).toBe(1);
    await expect(regenerateMissing(root, {}, captureOutput(), {})).rejects.toThrow(/exactly one of/);
    await expect(regenerateMissing(root, { caseId: 'case-2031-01-01' }, captureOutput(), {})).rejects.toThrow(
      InputError,
    );
  });

  it('--export writes a batch file that --batch-file plans back to the same images', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    await rm(imageFile(root, CASE, 'suspect-1'));
    await truncate(imageFile(root, CASE, 'scene'), 10);
    const file = join(root, 'missing.json');
    const out = captureOutput();
    expect(await regenerateMissing(root, { scanAll: true, export: file }, out, {})).toBe(0);
    const batch = await readBatchFile(file);
    expect(batch.options).toEqual({});
    expect(batch.images).toEqual([
      { type: 'suspect', caseId: CASE, suspectId: 'suspect-1' },
      { type: 'scene', caseId: CASE },
      { type: 'suspect', caseId: 'case-2025-01-20', suspectId: 'suspect-1' },
      { type: 'suspect', caseId: 'case-2025-01-20', suspectId: 'suspect-2' },
      { type: 'suspect', caseId: 'case-2025-01-20', suspectId: 'suspect-3' },
      { type: 'scene', caseId: 'case-2025-01-20' },
      { type: 'suspect', caseId: 'case-2025-01-21', suspectId: 'suspect-1' },
      { type: 'suspect', caseId: 'case-2025-01-21', suspectId: 'suspect-2' },
      { type: 'suspect', caseId: 'case-2025-01-21', suspectId: 'suspect-3' },
      { type: 'suspect', caseId: 'case-2025-01-21', suspectId: 'suspect-4' },
      { type: 'scene', caseId: 'case-2025-01-21' },
    ]);
    const config = await loadConfig(root);
    const provider = chooseProvider(config, { provider: 'placeholder', allowFallback: true });
    const plan = await planBatch({
      root,
      config,
      source: { kind: 'batch-file', path: file },
      force: true,
      provider,
    });
    expect(plan.items.map((i) => i.key)).toEqual(
      batch.images.map((i) => `${i.caseId}/${i.type === 'scene' ? 'scene' : i.suspectId}`),
    );
    expect(plan.skipped).toEqual([]);
  });

  it('--export of a clean scan writes an empty list and says so', async () => {
    const root = await makeTempRoot({ withSamples: false });
    const file = join(root, 'missing.json');
    const out = captureOutput();
    expect(await regenerateMissing(root, { scanAll: true, export: file }, out, {})).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ images: [], options: {} });
    expect(out.lines.join('\n')).toMatch(/nothing to generate/);
  });

  it('--fix with Gemini (the fake) leaves a scan with nothing to generate', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    await writeFile(join(root, 'lineup.config.json'), JSON.stringify({ timing: { delayBetweenImages: 0 } }));
    await rm(imageFile(root, CASE, 'suspect-1'));
    await writeFile(imageFile(root, CASE, 'suspect-2'), 'garbage');
    await updateManifest(root, CASE, (m) => {
      const e = m.images.scene;
      if (e) e.provider = 'placeholder';
    });
    const data = await readCase(root, CASE);
    if (data.suspects[2]) data.suspects[2].demeanor = 'Defiant';
    await writeCase(root, data);

    const before = await fake.count();
    const out = captureOutput();
    const code = await regenerateMissing(root, { scanAll: true, fix: true, apiBaseUrl: fake.url }, out, {
      GEMINI_API_KEY: 'AIzaSy-test-key-0123456789abcdefghijkl',
    });
    expect(out.errors.join('\n')).not.toMatch(/placeholder provider/);
    expect(code).toBe(0);
    // 4 broken images of the first case plus the 9 missing of the other two.
    expect((await fake.count()) - before).toBe(13);
    expect(out.lines.join('\n')).toMatch(/nothing left to generate/);
    const after = await scanAll(root);
    expect(imagesToGenerate(after)).toEqual([]);
    expect(after.problems).toEqual([]);
    // New images are the reviewer's job now, and only they.
    const flagged = after.images.filter((i) => i.findings.length > 0);
    expect(flagged).toHaveLength(13);
    expect(flagged.every((i) => i.findings.join() === 'awaiting-review')).toBe(true);
    expect(await regenerateMissing(root, { scanAll: true, check: true }, captureOutput(), {})).toBe(0);
    const manifest = JSON.parse(await readFile(join(imagesDir(root, CASE), 'manifest.json'), 'utf8'));
    expect(manifest.images['suspect-3'].provider).toBe('gemini');
  });

  it('--fix without a key makes placeholders, which the scan still lists (by design)', async () => {
    const root = await makeTempRoot();
    const out = captureOutput();
    expect(await regenerateMissing(root, { caseId: CASE, fix: true }, out, {})).toBe(0);
    expect(out.errors.join('\n')).toMatch(/GEMINI_API_KEY is not set/);
    expect(out.lines.join('\n')).toMatch(/4 image\(s\) still to generate after the fix \(4 placeholder/);
    const found = byImage(await scanCase(root, CASE));
    expect(Object.values(found)).toEqual(Array(4).fill(['placeholder', 'awaiting-review']));
  });

  it('--fix with nothing to do creates no batch', async () => {
    const root = await makeTempRoot();
    await seedGood(root, CASE);
    const out = captureOutput();
    expect(await regenerateMissing(root, { caseId: CASE, fix: true }, out, {})).toBe(0);
    expect(out.lines.join('\n')).toMatch(/Nothing to generate/);
    await expect(readFile(join(root, 'reports', 'progress'))).rejects.toThrow();
  });
});
