import { readFile, rm, writeFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { PlanItem } from '../src/batch/plan.ts';
import { imageFile } from '../src/cases/paths.ts';
import { validateImageQuality } from '../src/cli/validate-image-quality.ts';
import { decodePixels } from '../src/images/inspect.ts';
import { renderPlaceholderPng } from '../src/providers/placeholder.ts';
import {
  checkImage,
  createQualityCheck,
  hammingDistance,
  perceptualHash,
  QUALITY_LIMITS,
  validateCaseImages,
} from '../src/quality/index.ts';
import { captureOutput } from './support/output.ts';
import { seedPlaceholderImages } from './support/seed-images.ts';
import { makeTempRoot } from './support/temp-root.ts';

const CASE = 'case-2025-01-19';

function portrait(prompt: string): Uint8Array {
  return renderPlaceholderPng(prompt, 864, 1184, 'suspect');
}

function solidPng(width: number, height: number, noise = 0): Uint8Array {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i += 4) {
    const v = 120 + Math.round((Math.random() - 0.5) * noise);
    png.data[i] = v;
    png.data[i + 1] = v;
    png.data[i + 2] = v;
    png.data[i + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}

function names(result: { failures: Array<{ check: string }> }): string[] {
  return result.failures.map((f) => f.check);
}

describe('checkImage', () => {
  it('passes a good set of distinct images', () => {
    const set = [0, 1, 2].map((i) => portrait(`suspect ${i}`));
    for (const [i, bytes] of set.entries()) {
      const others = set.filter((_, k) => k !== i);
      expect(checkImage(bytes, { aspectRatio: '3:4' }, others).failures).toEqual([]);
      expect(checkImage(bytes, { width: 864, height: 1184 }).failures).toEqual([]);
    }
  });

  it('keeps the duplicate threshold well below the distance between different placeholder images', () => {
    const hashes = Array.from({ length: 24 }, (_, i) => perceptualHash(portrait(`distinct prompt ${i}`)));
    let min = 64;
    for (const [i, a] of hashes.entries()) {
      for (const b of hashes.slice(i + 1)) min = Math.min(min, hammingDistance(a ?? 0n, b ?? 0n));
    }
    expect(min).toBeGreaterThan(QUALITY_LIMITS.maxDuplicateDistance * 2);
  });

  it('flags a blank and a near-uniform image', () => {
    expect(names(checkImage(solidPng(96, 128), { aspectRatio: '3:4' }))).toContain('blank');
    expect(names(checkImage(solidPng(96, 128, 6), { aspectRatio: '3:4' }))).toContain('blank');
  });

  it('flags a duplicate pair, also across a JPEG re-encode and a resize', () => {
    const a = portrait('the same suspect');
    const pixels = decodePixels(a);
    if (!pixels) throw new Error('placeholder did not decode');
    const reencoded = jpeg.encode({ data: pixels.data, width: pixels.width, height: pixels.height }, 70).data;
    const result = checkImage(new Uint8Array(reencoded), { aspectRatio: '3:4' }, [
      { label: 'suspect-1', image: a },
      portrait('someone else'),
    ]);
    expect(result.failures).toEqual([
      { check: 'near-duplicate', detail: expect.stringMatching(/looks like suspect-1/) },
    ]);
    const hash = perceptualHash(a);
    if (hash === null) throw new Error('no hash');
    const small = renderPlaceholderPng('the same suspect', 432, 592, 'suspect');
    expect(names(checkImage(small, { aspectRatio: '3:4' }, [hash]))).toEqual(['near-duplicate']);
  });

  it('flags a wrong size and a wrong aspect ratio', () => {
    const scene = renderPlaceholderPng('a scene', 1344, 768, 'scene');
    expect(names(checkImage(scene, { aspectRatio: '3:4' }))).toEqual(['aspect-ratio']);
    expect(names(checkImage(scene, { width: 864, height: 1184 }))).toEqual(['dimensions']);
    // Gemini's own 3:4 size is 864x1184 (0.73): within tolerance.
    expect(names(checkImage(portrait('p'), { aspectRatio: '3:4' }))).toEqual([]);
  });

  it('flags a truncated PNG and non-image bytes as not decodable', () => {
    const good = portrait('to be cut');
    expect(
      names(checkImage(good.subarray(0, Math.floor(good.length * 0.6)), { aspectRatio: '3:4' })),
    ).toEqual(['decode']);
    expect(names(checkImage(new TextEncoder().encode('x'.repeat(2048)), { aspectRatio: '3:4' }))).toEqual([
      'decode',
    ]);
  });

  it('flags an implausible file size', () => {
    const tiny = solidPng(3, 4);
    expect(tiny.length).toBeLessThan(1024);
    expect(names(checkImage(tiny, { aspectRatio: '3:4' }))).toEqual(['file-size', 'blank']);
  });
});

describe('createQualityCheck (the batch hook)', () => {
  it('compares a fresh image with the other images of the case on disk, not with its own old file', async () => {
    const root = await makeTempRoot();
    await seedPlaceholderImages(root, CASE);
    const check = createQualityCheck(root);
    const item = (imageId: string): PlanItem => ({
      type: imageId === 'scene' ? 'scene' : 'suspect',
      caseId: CASE,
      ...(imageId === 'scene' ? {} : { suspectId: imageId }),
      key: `${CASE}/${imageId}`,
      imageId,
      prompt: 'p',
      promptHash: 'h',
      aspectRatio: imageId === 'scene' ? '16:9' : '3:4',
    });
    const own = new Uint8Array(await readFile(imageFile(root, CASE, 'suspect-1')));
    expect(await check(item('suspect-1'), own)).toEqual([]);
    expect(await check(item('suspect-2'), own)).toEqual(['near-duplicate']);
    expect(await check(item('scene'), portrait('fresh'))).toEqual(['aspect-ratio']);
    expect(await check(item('suspect-3'), solidPng(864, 1184))).toEqual(['blank']);
  });
});

describe('validate-image-quality', () => {
  it('exit 0 for a good case', async () => {
    const root = await makeTempRoot();
    await seedPlaceholderImages(root, CASE);
    const out = captureOutput();
    expect(await validateImageQuality(root, { caseId: CASE }, out)).toBe(0);
    expect(out.lines.join('\n')).toMatch(/all 4 image\(s\) pass/);
    expect((await validateCaseImages(root, CASE)).failures).toEqual([]);
  });

  it('exit 1 with a table naming each failed check', async () => {
    const root = await makeTempRoot();
    await seedPlaceholderImages(root, CASE);
    const s1 = await readFile(imageFile(root, CASE, 'suspect-1'));
    await writeFile(imageFile(root, CASE, 'suspect-2'), s1);
    await writeFile(imageFile(root, CASE, 'suspect-3'), solidPng(864, 1184));
    await writeFile(imageFile(root, CASE, 'scene'), s1.subarray(0, 5000));
    const out = captureOutput();
    expect(await validateImageQuality(root, { caseId: CASE }, out)).toBe(1);
    const text = out.lines.join('\n');
    expect(text).toMatch(/image\s+file\s+check\s+detail/);
    expect(text).toMatch(/suspect-1\s+suspect-1\.png\s+near-duplicate\s+looks like suspect-2/);
    expect(text).toMatch(/suspect-2\s+suspect-2\.png\s+near-duplicate\s+looks like suspect-1/);
    expect(text).toMatch(/suspect-3\s+suspect-3\.png\s+blank/);
    expect(text).toMatch(/scene\s+scene\.png\s+decode/);
    await rm(imageFile(root, CASE, 'scene'));
    const report = await validateCaseImages(root, CASE);
    expect(report.failures.find((f) => f.imageId === 'scene')?.check).toBe('missing');
  });

  it('bad input is an error (exit 2 via runCommand)', async () => {
    const root = await makeTempRoot();
    await expect(validateImageQuality(root, { caseId: 'nope' }, captureOutput())).rejects.toThrow(
      /not a case id/,
    );
    await expect(validateImageQuality(root, { caseId: 'case-2030-01-01' }, captureOutput())).rejects.toThrow(
      /does not exist/,
    );
  });
});
