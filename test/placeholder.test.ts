import { describe, expect, test } from 'vitest';
import { decodePixels, readImageHeader, verifyImage } from '../src/images/inspect.ts';
import {
  createPlaceholderProvider,
  isPlaceholderPng,
  renderPlaceholderPng,
} from '../src/providers/placeholder.ts';
import type { AspectRatio, GenerationResult, ImageRequest } from '../src/providers/types.ts';

function request(
  prompt: string,
  aspectRatio: AspectRatio = '1:1',
  kind: ImageRequest['kind'] = 'suspect',
): ImageRequest {
  return {
    kind,
    caseId: 'case-2025-01-19',
    imageId: kind === 'scene' ? 'scene' : 'suspect-1',
    prompt,
    aspectRatio,
  };
}

function bytesOf(result: GenerationResult): Uint8Array {
  if (!result.ok) throw new Error(result.message);
  return result.bytes;
}

/** Luminance at 32x32 by box averaging, then a DCT pHash of the 8x8 low frequencies (DC left out). */
function perceptualHash(png: Uint8Array): boolean[] {
  const img = decodePixels(png);
  if (!img) throw new Error('undecodable');
  const n = 32;
  const small = new Float64Array(n * n);
  const counts = new Float64Array(n * n);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      const cell = Math.floor((y * n) / img.height) * n + Math.floor((x * n) / img.width);
      small[cell] =
        (small[cell] ?? 0) +
        0.299 * (img.data[i] ?? 0) +
        0.587 * (img.data[i + 1] ?? 0) +
        0.114 * (img.data[i + 2] ?? 0);
      counts[cell] = (counts[cell] ?? 0) + 1;
    }
  }
  for (let i = 0; i < small.length; i++) small[i] = (small[i] ?? 0) / (counts[i] ?? 1);
  const coeffs: number[] = [];
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      let sum = 0;
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          sum +=
            (small[y * n + x] ?? 0) *
            Math.cos(((2 * y + 1) * u * Math.PI) / (2 * n)) *
            Math.cos(((2 * x + 1) * v * Math.PI) / (2 * n));
        }
      }
      coeffs.push(sum);
    }
  }
  const ac = coeffs.slice(1);
  const median = [...ac].sort((a, b) => a - b)[Math.floor(ac.length / 2)] ?? 0;
  return ac.map((c) => c > median);
}

function hamming(a: boolean[], b: boolean[]): number {
  return a.reduce((n, bit, i) => n + (bit === b[i] ? 0 : 1), 0);
}

describe('placeholder provider', () => {
  const provider = createPlaceholderProvider();

  test('identifies itself and costs nothing', () => {
    expect(provider.name).toBe('placeholder');
    expect(provider.model).toBe('placeholder');
    expect(provider.costPerImage).toBe(0);
  });

  test.each([
    ['1:1', 1024, 1024],
    ['3:4', 864, 1184],
    ['16:9', 1344, 768],
  ] as const)('draws %s at %ix%i as a valid PNG', async (aspect, width, height) => {
    const result = await provider.generate(request('a tall man in a grey coat', aspect));
    expect(result).toMatchObject({
      ok: true,
      mimeType: 'image/png',
      width,
      height,
      provider: 'placeholder',
      costUsd: 0,
    });
    const bytes = bytesOf(result);
    expect(readImageHeader(bytes)).toEqual({ mimeType: 'image/png', width, height });
    expect(verifyImage(bytes).ok).toBe(true);
  });

  test('the same prompt gives identical bytes', async () => {
    const a = bytesOf(await provider.generate(request('the butler, nervous')));
    const b = bytesOf(await provider.generate(request('the butler, nervous')));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  test('different prompts of one case are structurally different, not just recoloured', () => {
    const prompts = Array.from(
      { length: 8 },
      (_, i) => `Noir portrait, case 2025-01-19, suspect ${i + 1}: a person`,
    );
    const images = prompts.map((p) => renderPlaceholderPng(p, 256, 256, 'suspect'));
    const hashes = images.map(perceptualHash);
    for (let i = 0; i < images.length; i++) {
      for (let j = i + 1; j < images.length; j++) {
        expect(Buffer.from(images[i] ?? []).equals(Buffer.from(images[j] ?? []))).toBe(false);
        // A near-duplicate check typically flags a distance of 10 or less out of 63.
        expect(hamming(hashes[i] ?? [], hashes[j] ?? [])).toBeGreaterThan(12);
      }
    }
    const scene = perceptualHash(renderPlaceholderPng('the library at midnight', 256, 256, 'scene'));
    for (const h of hashes) expect(hamming(scene, h)).toBeGreaterThan(12);
  });

  test('is far from uniform', async () => {
    for (const kind of ['suspect', 'scene'] as const) {
      const img = decodePixels(bytesOf(await provider.generate(request(`variance ${kind}`, '16:9', kind))));
      if (!img) throw new Error('undecodable');
      let sum = 0;
      let sq = 0;
      const pixels = img.width * img.height;
      for (let i = 0; i < img.data.length; i += 4) {
        const l =
          0.299 * (img.data[i] ?? 0) + 0.587 * (img.data[i + 1] ?? 0) + 0.114 * (img.data[i + 2] ?? 0);
        sum += l;
        sq += l * l;
      }
      const variance = sq / pixels - (sum / pixels) ** 2;
      expect(variance).toBeGreaterThan(200);
    }
  });

  test('is marked as a placeholder in its header bytes', async () => {
    const bytes = bytesOf(await provider.generate(request('marked')));
    expect(isPlaceholderPng(bytes)).toBe(true);
    expect(isPlaceholderPng(bytes.subarray(0, 80))).toBe(true);
    const idat = Buffer.from(bytes).indexOf('IDAT');
    expect(Buffer.from(bytes).indexOf('lineup-placeholder')).toBeLessThan(idat);
  });

  test('other images are not placeholders', async () => {
    const { PNG } = await import('pngjs');
    const png = new PNG({ width: 4, height: 4 });
    expect(isPlaceholderPng(new Uint8Array(PNG.sync.write(png)))).toBe(false);
    expect(isPlaceholderPng(new Uint8Array(0))).toBe(false);
    expect(isPlaceholderPng(new TextEncoder().encode('Software\0lineup-placeholder'))).toBe(false);
  });

  test('an aborted request fails without drawing', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await provider.generate({ ...request('never'), signal: controller.signal });
    expect(result).toMatchObject({ ok: false, errorType: 'network', reason: 'timeout' });
  });
});
