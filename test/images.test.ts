import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
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

function chunk(type: string, data: Uint8Array | number[] = []): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(data)]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(body.length - 4, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

function ihdr(width: number, height: number, depth: number, colorType: number, interlace = 0): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([depth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7's seven passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Width and height of each sub-image an interlaced image of this size holds (empty passes left out). */
function adam7Passes(width: number, height: number): Array<[number, number]> {
  return ADAM7.map(([x0, y0, dx, dy]): [number, number] => [
    Math.ceil(Math.max(0, width - x0) / dx),
    Math.ceil(Math.max(0, height - y0) / dy),
  ]).filter(([w, h]) => w && h);
}

/** Bytes of filtered image data a PNG of this shape holds (1 filter byte + packed pixels per row, per pass). */
function filteredLength(width: number, height: number, bpp: number, interlace: number): number {
  const row = (w: number) => 1 + Math.ceil((w * bpp) / 8);
  if (!interlace) return height * row(width);
  let total = 0;
  for (const [w, h] of adam7Passes(width, height)) total += h * row(w);
  return total;
}

/** A hand-built PNG: any colour type, depth and interlace, with raw (filtered) data as given. */
function buildPng(o: {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace?: number;
  raw?: Uint8Array;
  before?: Buffer[];
  idatSplit?: number;
  end?: boolean;
}): Uint8Array {
  const interlace = o.interlace ?? 0;
  const bpp = (CHANNELS[o.colorType] ?? 1) * o.depth;
  let raw = o.raw;
  if (!raw) {
    const fresh = new Uint8Array(filteredLength(o.width, o.height, bpp, interlace));
    raw = fresh;
    // Filter type 0 on every row keeps the data valid whatever the layout; pixel bytes vary.
    for (let i = 0; i < fresh.length; i++) fresh[i] = (i * 131) & 0xff;
    let at = 0;
    const zero = (w: number, h: number) => {
      for (let r = 0; r < h; r++) {
        fresh[at] = 0;
        at += 1 + Math.ceil((w * bpp) / 8);
      }
    };
    if (!interlace) zero(o.width, o.height);
    else for (const [w, h] of adam7Passes(o.width, o.height)) zero(w, h);
  }
  const z = deflateSync(raw);
  const split = o.idatSplit ?? 1;
  const idats: Buffer[] = [];
  const step = Math.ceil(z.length / split);
  for (let i = 0; i < z.length; i += step) idats.push(chunk('IDAT', z.subarray(i, i + step)));
  const palette =
    o.colorType === 3
      ? [
          chunk(
            'PLTE',
            Array.from({ length: 768 }, (_, i) => i & 0xff),
          ),
        ]
      : [];
  return new Uint8Array(
    Buffer.concat([
      SIGNATURE,
      ihdr(o.width, o.height, o.depth, o.colorType, interlace),
      ...palette,
      ...(o.before ?? []),
      ...idats,
      ...(o.end === false ? [] : [chunk('IEND')]),
    ]),
  );
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

describe('verifyImage on PNG structure (no full decode)', () => {
  const shapes: Array<[number, number]> = [
    [1, 1],
    [3, 5],
    [9, 9],
    [17, 3],
    [8, 16],
  ];
  const kinds: Array<[number, number]> = [
    [0, 1],
    [0, 2],
    [0, 4],
    [0, 8],
    [0, 16],
    [2, 8],
    [2, 16],
    [3, 1],
    [3, 4],
    [3, 8],
    [4, 8],
    [4, 16],
    [6, 8],
    [6, 16],
  ];

  test('accepts every colour type, bit depth and interlace that pngjs decodes, with the same size', () => {
    for (const [colorType, depth] of kinds) {
      for (const [width, height] of shapes) {
        for (const interlace of [0, 1]) {
          const png = buildPng({ width, height, depth, colorType, interlace, idatSplit: 3 });
          const what = `type ${colorType} depth ${depth} ${width}x${height} interlace ${interlace}`;
          const decoded = PNG.sync.read(Buffer.from(png));
          expect([decoded.width, decoded.height], what).toEqual([width, height]);
          expect(verifyImage(png), what).toEqual({
            ok: true,
            header: { mimeType: 'image/png', width, height },
          });
        }
      }
    }
  });

  test('rejects image data one byte short or long, for plain and interlaced PNGs', () => {
    for (const interlace of [0, 1]) {
      const length = filteredLength(13, 7, 24, interlace);
      for (const delta of [-1, 1]) {
        const raw = new Uint8Array(length + delta);
        const result = verifyImage(
          buildPng({ width: 13, height: 7, depth: 8, colorType: 2, interlace, raw }),
        );
        expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('IHDR implies') });
      }
    }
  });

  test('rejects a scanline filter type above 4 even with valid CRCs', () => {
    const raw = new Uint8Array(filteredLength(4, 4, 32, 0));
    raw[(1 + 16) * 2] = 5;
    expect(verifyImage(buildPng({ width: 4, height: 4, depth: 8, colorType: 6, raw }))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('filter type'),
    });
  });

  test('rejects bad structure: no IEND, IHDR not first, unknown critical chunk, missing PLTE or IDAT, bad IHDR, bad zlib', () => {
    const base = { width: 4, height: 4, depth: 8, colorType: 2 };
    const reasons = [
      verifyImage(buildPng({ ...base, end: false })),
      verifyImage(
        new Uint8Array(
          Buffer.concat([SIGNATURE, chunk('gAMA', [0, 0, 0, 1]), Buffer.from(buildPng(base)).subarray(8)]),
        ),
      ),
      verifyImage(buildPng({ ...base, before: [chunk('ABCD', [1, 2])] })),
      verifyImage(
        new Uint8Array(
          Buffer.concat([
            SIGNATURE,
            ihdr(4, 4, 8, 3),
            chunk('IDAT', deflateSync(new Uint8Array(20))),
            chunk('IEND'),
          ]),
        ),
      ),
      verifyImage(new Uint8Array(Buffer.concat([SIGNATURE, ihdr(4, 4, 8, 2), chunk('IEND')]))),
      verifyImage(buildPng({ ...base, depth: 4 })),
      verifyImage(
        new Uint8Array(
          Buffer.concat([SIGNATURE, ihdr(4, 4, 8, 2), chunk('IDAT', [1, 2, 3, 4]), chunk('IEND')]),
        ),
      ),
    ];
    for (const r of reasons) expect(r.ok).toBe(false);
    // The header reader sees IHDR first, so the gAMA case fails before the structure walk; the rest name their problem.
    expect(reasons.map((r) => (r.ok ? '' : r.reason))).toEqual([
      expect.stringContaining('truncated'),
      expect.stringContaining('not a PNG'),
      expect.stringContaining('critical chunk ABCD'),
      expect.stringContaining('PLTE'),
      expect.stringContaining('no IDAT'),
      expect.stringContaining('bit depth'),
      expect.stringContaining('corrupt PNG image data'),
    ]);
  });

  test('accepts ancillary chunks and bytes after IEND; rejects a bad CRC on an ancillary chunk', () => {
    const base = { width: 5, height: 3, depth: 8, colorType: 6 };
    const withText = buildPng({ ...base, before: [chunk('tEXt', [...Buffer.from('Comment\0hi')])] });
    expect(verifyImage(withText).ok).toBe(true);
    expect(verifyImage(Uint8Array.from([...withText, 0, 0, 0])).ok).toBe(true);
    const bad = withText.slice();
    const at = Buffer.from(bad).indexOf('tEXt') + 6;
    bad[at] = (bad[at] ?? 0) ^ 1;
    expect(verifyImage(bad)).toMatchObject({ ok: false, reason: expect.stringContaining('CRC') });
  });

  test('every truncation and every single-byte corruption of a PNG is rejected', () => {
    const png = makePng(24, 24);
    for (let cut = 0; cut < png.length; cut++)
      expect(verifyImage(png.subarray(0, cut)).ok, `cut ${cut}`).toBe(false);
    for (let at = 0; at < png.length; at++) {
      const bad = png.slice();
      bad[at] = (bad[at] ?? 0) ^ 0x10;
      expect(verifyImage(bad).ok, `byte ${at}`).toBe(false);
    }
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
