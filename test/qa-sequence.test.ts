import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readImageHeader, verifyImage } from '../src/images/inspect.ts';
import { runScript } from './support/cli.ts';
import { TEST_KEY } from './support/engine.ts';
import { type FakeGemini, startFakeGemini } from './support/fake-gemini.ts';
import { makeTempRoot } from './support/temp-root.ts';

/**
 * The QA sequence of the seed (README, "The seed: what lineup replaces"), each step a child process as a user runs it (`npx tsx scripts/…`)
 * in a temp repo root, offline: no GEMINI_API_KEY, so the case comes from the offline generator
 * and the images from the placeholder provider.
 */

const CASE = 'case-2025-03-04';
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

let root: string;

beforeEach(async () => {
  root = await makeTempRoot();
});

const imagesDir = (caseId = CASE) => join(root, 'cases', caseId, 'images');

async function readJsonFile(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
}

/** A uniform grey PNG: decodes fine, has the right size, and is blank. */
function blankPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i += 4) {
    png.data[i] = 128;
    png.data[i + 1] = 128;
    png.data[i + 2] = 128;
    png.data[i + 3] = 255;
  }
  return PNG.sync.write(png);
}

interface QualityJson {
  caseId: string;
  checked: number;
  failures: Array<{ imageId: string; file: string | null; check: string; detail: string }>;
  exitCode: number;
}

test('generate-case → batch-generate → preview → validate → a broken image → --force → validate', async () => {
  // 1. A new case, offline (no key).
  const made = await runScript('generate-case.ts', ['--case-id', CASE], root);
  expect(made.code, made.stderr).toBe(0);
  expect(made.stderr).toMatch(/GEMINI_API_KEY is not set; using the offline case generator/);
  expect(made.stdout).toContain(`Wrote cases/${CASE}/case.json by the offline generator`);
  expect(made.stdout).toContain(`Next: npx tsx scripts/batch-generate-images.ts --case-id ${CASE}`);
  const data = await readJsonFile(join(root, 'cases', CASE, 'case.json'));
  const suspects = (data.suspects as Array<{ id: string }>).map((s) => s.id);
  expect(suspects.length).toBeGreaterThanOrEqual(2);
  const imageIds = [...suspects, 'scene'];

  // 2. Its images, with the placeholder provider.
  const generated = await runScript('batch-generate-images.ts', ['--case-id', CASE], root);
  expect(generated.code, generated.stdout + generated.stderr).toBe(0);
  expect(generated.stderr).toMatch(/GEMINI_API_KEY is not set: using the offline placeholder provider/);
  expect(generated.stdout).toMatch(
    new RegExp(`PROGRESS: ${imageIds.length}/${imageIds.length} \\(100%\\) - scene complete`),
  );
  expect((await readdir(imagesDir())).sort()).toEqual(
    ['manifest.json', ...imageIds.map((id) => `${id}.png`)].sort(),
  );
  const firstManifest = await readJsonFile(join(imagesDir(), 'manifest.json'));
  const firstBatch = (firstManifest.images as Record<string, { batchId: string; provider: string }>)[
    'suspect-2'
  ];
  expect(firstBatch?.provider).toBe('placeholder');

  // 3. The contact sheet: one page, every image inlined.
  const preview = await runScript('preview-images.ts', ['--case-id', CASE], root);
  expect(preview.code, preview.stderr).toBe(0);
  expect(preview.stdout).toContain(`Wrote reports/previews/${CASE}.html (${imageIds.length} images)`);
  for (const id of imageIds)
    expect(preview.stdout).toMatch(new RegExp(`^\\s+${id}\\s+ok\\s+placeholder`, 'm'));
  const html = await readFile(join(root, 'reports', 'previews', `${CASE}.html`), 'utf8');
  expect(html.match(/src="data:image\/png;base64,/g)).toHaveLength(imageIds.length);

  // 4. The quality checks pass.
  const valid = await runScript('validate-image-quality.ts', ['--case-id', CASE], root);
  expect(valid.code, valid.stdout + valid.stderr).toBe(0);
  expect(valid.stdout).toContain(`${CASE}: all ${imageIds.length} image(s) pass the quality checks.`);

  // 5. A failure: suspect-2 overwritten with a blank image of the right size.
  const target = join(imagesDir(), 'suspect-2.png');
  const header = readImageHeader(new Uint8Array(await readFile(target)));
  if (!header) throw new Error('suspect-2.png has no readable header');
  const blank = blankPng(header.width, header.height);
  expect(verifyImage(new Uint8Array(blank)).ok).toBe(true);
  await writeFile(target, blank);
  const broken = await runScript('validate-image-quality.ts', ['--case-id', CASE], root);
  expect(broken.code, broken.stdout + broken.stderr).toBe(1);
  expect(broken.stdout).toMatch(/suspect-2\s+suspect-2\.png\s+blank/);
  // Only the broken image is named.
  for (const id of imageIds.filter((i) => i !== 'suspect-2')) {
    expect(broken.stdout).not.toMatch(new RegExp(`^${id}\\s`, 'm'));
  }
  const hint = /Regenerate with: npx tsx scripts\/batch-generate-images\.ts (.+)$/m.exec(broken.stdout)?.[1];
  expect(hint).toBe(`--case-id ${CASE} --force`);
  const asJson = await runScript('validate-image-quality.ts', ['--case-id', CASE, '--json'], root);
  expect(asJson.code).toBe(1);
  const report = JSON.parse(asJson.stdout) as QualityJson;
  expect(report).toMatchObject({ caseId: CASE, checked: imageIds.length, exitCode: 1 });
  expect(new Set(report.failures.map((f) => f.imageId))).toEqual(new Set(['suspect-2']));
  expect(report.failures).toContainEqual(expect.objectContaining({ imageId: 'suspect-2', check: 'blank' }));

  // Without --force the broken file counts as present: nothing is regenerated.
  const skipped = await runScript('batch-generate-images.ts', ['--case-id', CASE], root);
  expect(skipped.code).toBe(0);
  expect(skipped.stdout).toMatch(/Nothing to generate/);
  expect(await readFile(target)).toEqual(blank);

  // 6. The command the validator suggested regenerates the case.
  const forced = await runScript('batch-generate-images.ts', (hint ?? '').split(' '), root);
  expect(forced.code, forced.stdout + forced.stderr).toBe(0);
  expect(forced.stdout).toMatch(
    new RegExp(`PROGRESS: ${imageIds.length}/${imageIds.length} \\(100%\\) - scene complete`),
  );
  expect(await readFile(target)).not.toEqual(blank);
  const manifest = await readJsonFile(join(imagesDir(), 'manifest.json'));
  const entry = (manifest.images as Record<string, { batchId: string }>)['suspect-2'];
  expect(entry?.batchId).toMatch(/^batch-/);
  expect(entry?.batchId).not.toBe(firstBatch?.batchId);

  // 7. The checks pass again.
  const fixed = await runScript('validate-image-quality.ts', ['--case-id', CASE], root);
  expect(fixed.code, fixed.stdout).toBe(0);
  expect(fixed.stdout).toContain(`${CASE}: all ${imageIds.length} image(s) pass the quality checks.`);
}, 120_000);

describe('batch-generate-images.ts with the placeholder provider', () => {
  let fake: FakeGemini;
  beforeEach(async () => {
    fake = await startFakeGemini();
  });
  afterEach(() => fake.close());

  test('--batch-file: generates exactly the listed images of several cases, nothing else', async () => {
    await writeFile(
      join(root, 'weekly-batch.json'),
      JSON.stringify({
        images: [
          { type: 'suspect', caseId: 'case-2025-01-20', suspectId: 'suspect-2' },
          { type: 'scene', caseId: 'case-2025-01-21' },
          { type: 'suspect', caseId: 'case-2025-01-21', suspectId: 'suspect-1', retries: 2 },
        ],
        options: { delay: 0, maxConcurrent: 2, stopOnError: false },
      }),
    );
    const run = await runScript('batch-generate-images.ts', ['--batch-file', 'weekly-batch.json'], root);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toMatch(/using the offline placeholder provider/);
    expect(run.stdout).toMatch(/PROGRESS: 3\/3 \(100%\)/);
    expect(run.stdout).toMatch(/COMPLETE: 3\/3 generated, 0 failed, 0 pending/);

    expect(await exists(imagesDir('case-2025-01-19'))).toBe(false);
    expect((await readdir(imagesDir('case-2025-01-20'))).sort()).toEqual(['manifest.json', 'suspect-2.png']);
    expect((await readdir(imagesDir('case-2025-01-21'))).sort()).toEqual([
      'manifest.json',
      'scene.png',
      'suspect-1.png',
    ]);
    for (const [caseId, ids] of [
      ['case-2025-01-20', ['suspect-2']],
      ['case-2025-01-21', ['scene', 'suspect-1']],
    ] as const) {
      const manifest = await readJsonFile(join(imagesDir(caseId), 'manifest.json'));
      const images = manifest.images as Record<string, { provider: string }>;
      expect(Object.keys(images).sort()).toEqual([...ids]);
      for (const id of ids) expect(images[id]?.provider).toBe('placeholder');
      for (const id of ids) {
        const bytes = new Uint8Array(await readFile(join(imagesDir(caseId), `${id}.png`)));
        expect(verifyImage(bytes).ok).toBe(true);
      }
    }
    // One batch, its progress, log and error report written.
    const batchId = /\[(batch-\d{4}-\d{2}-\d{2}-\d{3})\]/.exec(run.stdout)?.[1] ?? '';
    expect(batchId).not.toBe('');
    const progress = await readJsonFile(join(root, 'reports', 'progress', `${batchId}.json`));
    expect(progress).toMatchObject({ batchId, status: 'completed', provider: 'placeholder' });
    expect((progress.completed as unknown[]).length).toBe(3);
    expect(await exists(join(root, 'reports', 'logs', `${batchId}.log`))).toBe(true);
    expect(await readJsonFile(join(root, 'reports', 'errors', `${batchId}.json`))).toMatchObject({
      summary: { total: 3, successful: 3, failed: 0, pending: 0 },
    });
  });

  test('--type suspects --provider placeholder: only the suspects, and no request even with a key set', async () => {
    const run = await runScript(
      'batch-generate-images.ts',
      ['--case-id', 'case-2025-01-20', '--type', 'suspects', '--provider', 'placeholder'],
      root,
      { GEMINI_API_KEY: TEST_KEY, GOOGLE_GEMINI_BASE_URL: fake.url },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(fake.requests).toHaveLength(0);
    const data = await readJsonFile(join(root, 'cases', 'case-2025-01-20', 'case.json'));
    const suspects = (data.suspects as Array<{ id: string }>).map((s) => s.id);
    expect(run.stdout).toMatch(new RegExp(`PROGRESS: ${suspects.length}/${suspects.length} \\(100%\\)`));
    expect((await readdir(imagesDir('case-2025-01-20'))).sort()).toEqual(
      ['manifest.json', ...suspects.map((id) => `${id}.png`)].sort(),
    );
    const manifest = await readJsonFile(join(imagesDir('case-2025-01-20'), 'manifest.json'));
    const images = manifest.images as Record<string, { provider: string }>;
    expect(Object.keys(images).sort()).toEqual([...suspects].sort());
    for (const id of suspects) expect(images[id]?.provider).toBe('placeholder');
    expect(run.stdout + run.stderr).not.toContain(TEST_KEY);
  });
});
