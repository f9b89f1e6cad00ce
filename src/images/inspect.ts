import { open } from 'node:fs/promises';
import { crc32, inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { errorMessage } from '../util/error-message.ts';

export type ImageFormat = 'image/png' | 'image/jpeg' | 'image/webp';

export interface ImageHeader {
  mimeType: ImageFormat;
  width: number;
  height: number;
}

// Far above any generated image, low enough that a corrupt header cannot make a decoder allocate gigabytes.
const MAX_SIDE = 16_384;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

function sane(width: number, height: number): boolean {
  return width >= 1 && height >= 1 && width <= MAX_SIDE && height <= MAX_SIDE;
}

function u16be(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

function u32be(b: Uint8Array, i: number): number {
  return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
}

function u24le(b: Uint8Array, i: number): number {
  return (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16);
}

function u32le(b: Uint8Array, i: number): number {
  return (u24le(b, i) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

function ascii(b: Uint8Array, i: number, text: string): boolean {
  if (i + text.length > b.length) return false;
  for (let k = 0; k < text.length; k++) if (b[i + k] !== text.charCodeAt(k)) return false;
  return true;
}

function isPngSignature(b: Uint8Array): boolean {
  if (b.length < PNG_SIGNATURE.length) return false;
  return PNG_SIGNATURE.every((v, i) => b[i] === v);
}

function readPngHeader(b: Uint8Array): ImageHeader | null {
  // IHDR must be the first chunk and is always 13 bytes long.
  if (b.length < 33 || !isPngSignature(b)) return null;
  if (u32be(b, 8) !== 13 || !ascii(b, 12, 'IHDR')) return null;
  const width = u32be(b, 16);
  const height = u32be(b, 20);
  return sane(width, height) ? { mimeType: 'image/png', width, height } : null;
}

function readJpegHeader(b: Uint8Array): ImageHeader | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) return null;
    // Any number of 0xFF fill bytes may precede a marker.
    while (i < b.length && b[i] === 0xff) i++;
    const marker = b[i];
    if (marker === undefined) return null;
    i++;
    // Standalone markers carry no length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    // Start of scan or end of image before any frame header: no size to be found.
    if (marker === 0xda || marker === 0xd9 || marker === 0x00) return null;
    if (i + 2 > b.length) return null;
    const length = u16be(b, i);
    if (length < 2) return null;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (length < 8 || i + 7 > b.length) return null;
      const height = u16be(b, i + 3);
      const width = u16be(b, i + 5);
      return sane(width, height) ? { mimeType: 'image/jpeg', width, height } : null;
    }
    i += length;
  }
  return null;
}

function readWebpHeader(b: Uint8Array): ImageHeader | null {
  if (b.length < 20 || !ascii(b, 0, 'RIFF') || !ascii(b, 8, 'WEBP')) return null;
  let width = 0;
  let height = 0;
  if (ascii(b, 12, 'VP8 ')) {
    // Lossy: 3-byte frame tag (bit 0 clear on a key frame), start code, then 14-bit sizes.
    if (b.length < 30 || ((b[20] ?? 1) & 1) !== 0 || b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a)
      return null;
    width = ((b[26] ?? 0) | ((b[27] ?? 0) << 8)) & 0x3fff;
    height = ((b[28] ?? 0) | ((b[29] ?? 0) << 8)) & 0x3fff;
  } else if (ascii(b, 12, 'VP8L')) {
    if (b.length < 25 || b[20] !== 0x2f) return null;
    const bits = u32le(b, 21);
    // The top three bits are a version that must be zero.
    if (bits >>> 29 !== 0) return null;
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
  } else if (ascii(b, 12, 'VP8X')) {
    if (b.length < 30 || u32le(b, 16) < 10) return null;
    width = u24le(b, 24) + 1;
    height = u24le(b, 27) + 1;
  } else {
    return null;
  }
  return sane(width, height) ? { mimeType: 'image/webp', width, height } : null;
}

export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  switch (bytes[0]) {
    case 0x89:
      return readPngHeader(bytes);
    case 0xff:
      return readJpegHeader(bytes);
    case 0x52:
      return readWebpHeader(bytes);
    default:
      return null;
  }
}

/** Walks the RIFF chunks: each must fit, and the last must end exactly where the RIFF size says. */
function checkWebpStructure(b: Uint8Array): string | null {
  const riffEnd = u32le(b, 4) + 8;
  if (b.length < riffEnd) return `truncated WebP: RIFF says ${riffEnd} bytes, file has ${b.length}`;
  let i = 12;
  let hasImage = false;
  while (i < riffEnd) {
    if (i + 8 > riffEnd) return `WebP chunk header at ${i} runs past the RIFF end`;
    const size = u32le(b, i + 4);
    const end = i + 8 + size + (size & 1);
    if (end > riffEnd) return `WebP chunk at ${i} runs past the RIFF end`;
    if (ascii(b, i, 'VP8 ') || ascii(b, i, 'VP8L') || ascii(b, i, 'ANMF')) hasImage = size > 0 || hasImage;
    i = end;
  }
  return hasImage ? null : 'WebP holds no image data chunk';
}

/** Bits per sample allowed for each PNG colour type, and its samples per pixel. */
const PNG_COLOR_TYPES: Record<number, { depths: readonly number[]; channels: number }> = {
  0: { depths: [1, 2, 4, 8, 16], channels: 1 },
  2: { depths: [8, 16], channels: 3 },
  3: { depths: [1, 2, 4, 8], channels: 1 },
  4: { depths: [8, 16], channels: 2 },
  6: { depths: [8, 16], channels: 4 },
};

// Adam7: start column, start row, column step, row step of each of the seven passes.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Largest single output buffer the PNG check allocates up front (a 2048x2048 RGBA image fits). */
const MAX_INFLATE_CHUNK = 32 * 1024 * 1024;
// zlib's smallest allowed chunk size.
const MIN_INFLATE_CHUNK = 64;

/** The scanline layout of the filtered image data: rows of (1 filter byte + rowBytes). */
function pngScanlines(
  width: number,
  height: number,
  bitsPerPixel: number,
  interlaced: boolean,
): Array<{ rows: number; rowBytes: number }> {
  const rowBytes = (w: number) => Math.ceil((w * bitsPerPixel) / 8);
  if (!interlaced) return [{ rows: height, rowBytes: rowBytes(width) }];
  const passes: Array<{ rows: number; rowBytes: number }> = [];
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil(Math.max(0, width - x0) / dx);
    const h = Math.ceil(Math.max(0, height - y0) / dy);
    // A pass with no pixels contributes no bytes, not even filter bytes.
    if (w > 0 && h > 0) passes.push({ rows: h, rowBytes: rowBytes(w) });
  }
  return passes;
}

/**
 * A PNG integrity check without reconstructing pixels: every chunk within bounds with a matching
 * CRC, IHDR first, IEND last, no unknown critical chunk, and the concatenated IDAT data inflating
 * (zlib's own Adler-32 included) to exactly the length the IHDR implies, with a valid filter type
 * at the start of every scanline. About ten times faster than a full decode, and it catches the
 * same truncations and corruptions.
 */
function checkPngStructure(b: Uint8Array): string | null {
  let i = PNG_SIGNATURE.length;
  let ihdr:
    | { width: number; height: number; depth: number; colorType: number; interlace: number }
    | undefined;
  let sawPalette = false;
  let sawEnd = false;
  const idat: Uint8Array[] = [];
  while (!sawEnd) {
    if (i + 12 > b.length) return `truncated PNG: chunk header at byte ${i} runs past the end of the file`;
    const length = u32be(b, i);
    if (length > 0x7fffffff) return `PNG chunk at byte ${i} has an invalid length`;
    const dataStart = i + 8;
    const dataEnd = dataStart + length;
    if (dataEnd + 4 > b.length) return `truncated PNG: chunk at byte ${i} runs past the end of the file`;
    const type = String.fromCharCode(b[i + 4] ?? 0, b[i + 5] ?? 0, b[i + 6] ?? 0, b[i + 7] ?? 0);
    if (!/^[A-Za-z]{4}$/.test(type)) return `PNG chunk at byte ${i} has an invalid type`;
    if (crc32(b.subarray(i + 4, dataEnd)) !== u32be(b, dataEnd)) return `PNG ${type} chunk CRC mismatch`;
    if (!ihdr && type !== 'IHDR') return 'PNG does not start with an IHDR chunk';
    switch (type) {
      case 'IHDR': {
        if (ihdr) return 'PNG has more than one IHDR chunk';
        if (length !== 13) return 'PNG IHDR chunk has the wrong length';
        const depth = b[dataStart + 8] ?? 0;
        const colorType = b[dataStart + 9] ?? 0;
        const interlace = b[dataStart + 12] ?? 0;
        const allowed = PNG_COLOR_TYPES[colorType];
        if (!allowed) return `PNG has an unsupported color type ${colorType}`;
        if (!allowed.depths.includes(depth))
          return `PNG color type ${colorType} cannot have bit depth ${depth}`;
        if (b[dataStart + 10] !== 0) return 'PNG has an unsupported compression method';
        if (b[dataStart + 11] !== 0) return 'PNG has an unsupported filter method';
        if (interlace > 1) return 'PNG has an unsupported interlace method';
        ihdr = { width: u32be(b, dataStart), height: u32be(b, dataStart + 4), depth, colorType, interlace };
        break;
      }
      case 'PLTE':
        if (idat.length) return 'PNG PLTE chunk comes after the image data';
        sawPalette = true;
        break;
      case 'IDAT':
        idat.push(b.subarray(dataStart, dataEnd));
        break;
      case 'IEND':
        if (length !== 0) return 'PNG IEND chunk is not empty';
        sawEnd = true;
        break;
      default:
        // Bit 5 of the first letter clear (upper case) marks a chunk a decoder must understand.
        if (((b[i + 4] ?? 0) & 0x20) === 0) return `PNG has an unsupported critical chunk ${type}`;
    }
    i = dataEnd + 4;
  }
  // Bytes after IEND are not a chunk; decoders ignore them, and so do we.
  if (!ihdr) return 'PNG has no IHDR chunk';
  if (ihdr.colorType === 3 && !sawPalette) return 'palette PNG has no PLTE chunk';
  if (!idat.length) return 'PNG has no IDAT chunk';

  const bitsPerPixel = (PNG_COLOR_TYPES[ihdr.colorType]?.channels ?? 1) * ihdr.depth;
  const passes = pngScanlines(ihdr.width, ihdr.height, bitsPerPixel, ihdr.interlace === 1);
  const expected = passes.reduce((sum, p) => sum + p.rows * (1 + p.rowBytes), 0);
  let raw: Buffer;
  try {
    // One byte of headroom tells "exactly right" from "too long" without inflating a bomb whole.
    raw = inflateSync(idat.length === 1 ? (idat[0] as Uint8Array) : Buffer.concat(idat), {
      maxOutputLength: expected + 1,
      // One output buffer of the right size instead of 16 KiB pieces joined (half the time).
      chunkSize: Math.max(MIN_INFLATE_CHUNK, Math.min(expected + 1, MAX_INFLATE_CHUNK)),
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return `PNG image data inflates to more than the ${expected} bytes its IHDR implies`;
    }
    return `truncated or corrupt PNG image data: ${errorMessage(error)}`;
  }
  if (raw.length !== expected) {
    return `PNG image data inflates to ${raw.length} bytes, its IHDR implies ${expected}`;
  }
  let at = 0;
  for (const pass of passes) {
    for (let row = 0; row < pass.rows; row++) {
      if ((raw[at] ?? 0) > 4) return `PNG scanline has an invalid filter type ${raw[at]}`;
      at += 1 + pass.rowBytes;
    }
  }
  return null;
}

const JPEG_LIMITS = { maxResolutionInMP: 300, maxMemoryUsageInMB: 1024 } as const;

/** A JPEG must end with EOI; trailing zero padding is tolerated since some encoders add it. */
function jpegHasEnd(b: Uint8Array): boolean {
  let end = b.length;
  while (end > 2 && b[end - 1] === 0x00) end--;
  return b[end - 2] === 0xff && b[end - 1] === 0xd9;
}

export function verifyImage(
  bytes: Uint8Array,
): { ok: true; header: ImageHeader } | { ok: false; reason: string } {
  const header = readImageHeader(bytes);
  if (!header) return { ok: false, reason: 'not a PNG, JPEG or WebP image with a valid header' };
  try {
    if (header.mimeType === 'image/png') {
      const problem = checkPngStructure(bytes);
      if (problem) return { ok: false, reason: problem };
    } else if (header.mimeType === 'image/jpeg') {
      if (!jpegHasEnd(bytes)) return { ok: false, reason: 'truncated JPEG: no end-of-image marker' };
      const img = jpeg.decode(bytes, { useTArray: true, tolerantDecoding: false, ...JPEG_LIMITS });
      if (img.width !== header.width || img.height !== header.height) {
        return { ok: false, reason: 'JPEG decoded size differs from its header' };
      }
    } else {
      const problem = checkWebpStructure(bytes);
      if (problem) return { ok: false, reason: problem };
    }
  } catch (error) {
    // pngjs reports a short file as a stream error; name the likely cause for humans.
    const kind =
      header.mimeType === 'image/png' ? 'truncated or corrupt PNG' : `cannot decode ${header.mimeType}`;
    return { ok: false, reason: `${kind}: ${errorMessage(error)}` };
  }
  return { ok: true, header };
}

export function decodePixels(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } | null {
  const header = readImageHeader(bytes);
  if (!header) return null;
  try {
    if (header.mimeType === 'image/png') {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return {
        width: png.width,
        height: png.height,
        data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
      };
    }
    if (header.mimeType === 'image/jpeg') {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, ...JPEG_LIMITS });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch {
    return null;
  }
  return null;
}

export async function readFileHead(path: string, max = 65_536): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(max);
    let filled = 0;
    // A single read may return fewer bytes than asked even before the end of the file.
    while (filled < max) {
      const { bytesRead } = await handle.read(buffer, filled, max - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === max ? buffer : buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
