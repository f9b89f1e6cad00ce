import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { decodePixels, readFileHead, readImageHeader, verifyImage } from '../src/images/inspect.ts';

function rgba(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 0xff;
  return data;
}

function makePng(width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  png.data.set(rgba(width, height));
  return new Uint8Array(PNG.sync.write(png));
}

function makeJpeg(width: number, height: number): Uint8Array {
  return new Uint8Array(jpeg.encode({ width, height, data: rgba(width, height) }, 85).data);
}

function riff(fourcc: string, payload: number[]): Uint8Array {
  const body = [...payload];
  if (body.length % 2 === 1) body.push(0);
  const bytes = [
    ...Buffer.from('RIFF'),
    ...le32(4 + 8 + body.length),
    ...Buffer.from('WEBP'),
    ...Buffer.from(fourcc),
    ...le32(payload.length),
    ...body,
  ];
  return Uint8Array.from(bytes);
}

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** VP8L header: signature 0x2f, then 14 bits width-1 and 14 bits height-1, little-endian bit order. */
function webpLossless(width: number, height: number): Uint8Array {
  const bits = (width - 1) | ((height - 1) << 14);
  return riff('VP8L', [0x2f, ...le32(bits), 0x00, 0x00]);
}

function webpExtended(width: number, height: number): Uint8Array {
  const w = width - 1;
  const h = height - 1;
  const vp8x = [
    0,
    0,
    0,
    0,
    w & 0xff,
    (w >> 8) & 0xff,
    (w >> 16) & 0xff,
    h & 0xff,
    (h >> 8) & 0xff,
    (h >> 16) & 0xff,
  ];
  const lossless = webpLossless(width, height).subarray(12);
  const body = [...Buffer.from('VP8X'), ...le32(10), ...vp8x, ...lossless];
  return Uint8Array.from([...Buffer.from('RIFF'), ...le32(4 + body.length), ...Buffer.from('WEBP'), ...body]);
}

describe('readImageHeader', () => {
  test('PNG', () => {
    expect(readImageHeader(makePng(40, 30))).toEqual({ mimeType: 'image/png', width: 40, height: 30 });
  });

  test('JPEG', () => {
    expect(readImageHeader(makeJpeg(48, 20))).toEqual({ mimeType: 'image/jpeg', width: 48, height: 20 });
  });

  test('JPEG with a progressive frame header (SOF2) after an APP segment', () => {
    const app = [0xff, 0xe1, 0x00, 0x06, 1, 2, 3, 4];
    const sof2 = [0xff, 0xc2, 0x00, 0x0b, 8, 0x01, 0x00, 0x02, 0x80, 1, 1, 0x11, 0];
    const bytes = Uint8Array.from([0xff, 0xd8, ...app, 0xff, ...sof2]);
    expect(readImageHeader(bytes)).toEqual({ mimeType: 'image/jpeg', width: 640, height: 256 });
  });

  test('JPEG DHT (C4) is not mistaken for a frame header', () => {
    const dht = [0xff, 0xc4, 0x00, 0x08, 0, 0x01, 0x00, 0x02, 0x00, 0x00];
    const sof0 = [0xff, 0xc0, 0x00, 0x0b, 8, 0x00, 0x10, 0x00, 0x20, 1, 1, 0x11, 0];
    expect(readImageHeader(Uint8Array.from([0xff, 0xd8, ...dht, ...sof0]))).toEqual({
      mimeType: 'image/jpeg',
      width: 32,
      height: 16,
    });
  });

  test('WebP lossless (VP8L) and extended (VP8X)', () => {
    expect(readImageHeader(webpLossless(1024, 768))).toEqual({
      mimeType: 'image/webp',
      width: 1024,
      height: 768,
    });
    expect(readImageHeader(webpExtended(1344, 768))).toEqual({
      mimeType: 'image/webp',
      width: 1344,
      height: 768,
    });
  });

  test('WebP lossy (VP8)', () => {
    const frame = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x04, 0x00, 0x03, 0, 0];
    expect(readImageHeader(riff('VP8 ', frame))).toEqual({
      mimeType: 'image/webp',
      width: 1024,
      height: 768,
    });
  });

  test('garbage, empty and truncated bytes give null', () => {
    expect(readImageHeader(new Uint8Array(0))).toBeNull();
    expect(readImageHeader(new TextEncoder().encode('<html>not an image</html>'))).toBeNull();
    expect(readImageHeader(makePng(10, 10).subarray(0, 20))).toBeNull();
    expect(readImageHeader(makeJpeg(10, 10).subarray(0, 10))).toBeNull();
    expect(readImageHeader(webpLossless(10, 10).subarray(0, 22))).toBeNull();
  });

  test('random bytes never throw, even when they start like an image', () => {
    let seed = 1;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 24;
    };
    const prefixes = [
      [],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      [0xff, 0xd8],
      [...Buffer.from('RIFF'), 0, 0, 0, 0, ...Buffer.from('WEBP')],
    ];
    for (let k = 0; k < 4000; k++) {
      const prefix = prefixes[k % prefixes.length] ?? [];
      const bytes = Uint8Array.from([...prefix, ...Array.from({ length: k % 97 }, next)]);
      expect(() => readImageHeader(bytes)).not.toThrow();
      expect(() => verifyImage(bytes)).not.toThrow();
    }
  });
});

describe('verifyImage', () => {
  test('accepts a whole PNG and JPEG', () => {
    expect(verifyImage(makePng(16, 16))).toEqual({
      ok: true,
      header: { mimeType: 'image/png', width: 16, height: 16 },
    });
    expect(verifyImage(makeJpeg(16, 16)).ok).toBe(true);
  });

  test('rejects a truncated PNG, a truncated JPEG and a non-image', () => {
    const png = makePng(64, 64);
    const cut = verifyImage(png.subarray(0, png.length - 30));
    expect(cut.ok).toBe(false);
    const jpg = makeJpeg(64, 64);
    expect(verifyImage(jpg.subarray(0, jpg.length - 50)).ok).toBe(false);
    const junk = verifyImage(new TextEncoder().encode('{"error": "quota"}'));
    expect(junk).toMatchObject({ ok: false });
  });

  test('rejects a PNG whose data is corrupted (CRC)', () => {
    const png = makePng(32, 32);
    const bad = png.slice();
    bad[bad.length - 20] = (bad[bad.length - 20] ?? 0) ^ 0xff;
    expect(verifyImage(bad).ok).toBe(false);
  });

  test('checks the RIFF structure of WebP', () => {
    const whole = webpExtended(100, 50);
    expect(verifyImage(whole)).toEqual({
      ok: true,
      header: { mimeType: 'image/webp', width: 100, height: 50 },
    });
    expect(verifyImage(whole.subarray(0, whole.length - 4)).ok).toBe(false);
    const noImage = riff('VP8X', [0, 0, 0, 0, 99, 0, 0, 49, 0, 0]);
    expect(verifyImage(noImage)).toMatchObject({ ok: false, reason: expect.stringContaining('no image') });
  });
});

describe('decodePixels', () => {
  test('returns RGBA pixels for PNG and JPEG, null for WebP and junk', () => {
    const png = decodePixels(makePng(8, 4));
    expect(png?.width).toBe(8);
    expect(png?.data.length).toBe(8 * 4 * 4);
    expect(Array.from(png?.data.subarray(0, 4) ?? [])).toEqual([0, 37, 74, 111]);
    const jpg = decodePixels(makeJpeg(8, 4));
    expect(jpg?.data.length).toBe(8 * 4 * 4);
    expect(decodePixels(webpLossless(8, 4))).toBeNull();
    expect(decodePixels(new Uint8Array(10))).toBeNull();
  });
});

describe('readFileHead', () => {
  test('reads at most max bytes, and short files whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lineup-head-'));
    try {
      const big = join(dir, 'big.bin');
      await writeFile(big, new Uint8Array(200_000).fill(7));
      expect((await readFileHead(big)).length).toBe(65_536);
      expect((await readFileHead(big, 100)).length).toBe(100);
      const small = join(dir, 'small.png');
      await writeFile(small, makePng(5, 5));
      const head = await readFileHead(small);
      expect(readImageHeader(head)).toEqual({ mimeType: 'image/png', width: 5, height: 5 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
