import { decodePixels, verifyImage } from '../images/inspect.ts';

/** Names of the checks as they appear in tables and in the manifest's `quality` list. */
export type QualityCheckName =
  | 'decode'
  | 'dimensions'
  | 'aspect-ratio'
  | 'blank'
  | 'near-duplicate'
  | 'file-size';

export type Expected = { width: number; height: number } | { aspectRatio: string | number };

interface QualityFailure {
  check: QualityCheckName;
  detail: string;
}

/** Another image of the same case: raw bytes, or a perceptual hash computed earlier (perceptualHash). */
export type OtherImage = Uint8Array | bigint | { label: string; image: Uint8Array | bigint };

export interface QualityResult {
  failures: QualityFailure[];
  /** The image's perceptual hash, when it decoded, so callers can compare later images to it. */
  hash: bigint | null;
}

/*
 * Thresholds. Gemini returns 864x1184 for 3:4 (0.730 vs 0.750) and 1344x768 for 16:9, so the
 * aspect tolerance must allow a few percent. Placeholder images of different prompts sit at a pHash
 * distance of 18+ out of 64; a threshold of 6 flags re-encodes, resizes and near copies only.
 */
export const QUALITY_LIMITS = {
  minBytes: 1024,
  maxBytes: 20 * 1024 * 1024,
  aspectTolerance: 0.05,
  /** Standard deviation of luminance (0-255) over a 32x32 downscale below which an image is blank. */
  minLuminanceStdDev: 4,
  maxDuplicateDistance: 6,
} as const;

function ratioOf(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(value);
  if (!m) throw new Error(`${JSON.stringify(value)} is not an aspect ratio like 3:4`);
  return Number(m[1]) / Number(m[2]);
}

/** Luminance averaged over a cols x rows grid of equal boxes (a box filter): cheap, and it ignores noise. */
function downscaleGray(
  pixels: { width: number; height: number; data: Uint8Array },
  cols: number,
  rows: number,
): Float64Array {
  const { width, height, data } = pixels;
  const sums = new Float64Array(cols * rows);
  const counts = new Float64Array(cols * rows);
  const colOf = new Int32Array(width);
  for (let x = 0; x < width; x++) colOf[x] = Math.min(cols - 1, Math.floor((x * cols) / width));
  for (let y = 0; y < height; y++) {
    const rowBase = Math.min(rows - 1, Math.floor((y * rows) / height)) * cols;
    let i = y * width * 4;
    for (let x = 0; x < width; x++, i += 4) {
      const cell = rowBase + (colOf[x] ?? 0);
      sums[cell] =
        (sums[cell] ?? 0) + 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
      counts[cell] = (counts[cell] ?? 0) + 1;
    }
  }
  for (let c = 0; c < sums.length; c++) {
    if (counts[c]) {
      sums[c] = (sums[c] ?? 0) / (counts[c] ?? 1);
      continue;
    }
    // An image smaller than the grid leaves cells without pixels: they take the pixel under their centre.
    const x = Math.min(width - 1, Math.floor((((c % cols) + 0.5) * width) / cols));
    const y = Math.min(height - 1, Math.floor(((Math.floor(c / cols) + 0.5) * height) / rows));
    const i = (y * width + x) * 4;
    sums[c] = 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
  }
  return sums;
}

const DCT_SIZE = 32;
const DCT_KEEP = 8;
/** cos((2n+1)kπ/2N) for the low frequencies only: the hash never needs the rest. */
const COSINES = (() => {
  const table = new Float64Array(DCT_KEEP * DCT_SIZE);
  for (let k = 0; k < DCT_KEEP; k++) {
    for (let n = 0; n < DCT_SIZE; n++)
      table[k * DCT_SIZE + n] = Math.cos(((2 * n + 1) * k * Math.PI) / (2 * DCT_SIZE));
  }
  return table;
})();

/**
 * pHash: the 8x8 lowest frequencies of a DCT of a 32x32 grayscale downscale, one bit per
 * coefficient above their median. Chosen over dHash because flat shapes (the placeholder's, and
 * flat backgrounds in real images) give dHash many shared zero bits: different placeholder
 * images came as close as 3/64 with dHash, but never under 18/64 with this.
 */
function pHash(pixels: { width: number; height: number; data: Uint8Array }): bigint {
  const g = downscaleGray(pixels, DCT_SIZE, DCT_SIZE);
  // Separable DCT: rows first (32x8), then columns (8x8).
  const rows = new Float64Array(DCT_SIZE * DCT_KEEP);
  for (let y = 0; y < DCT_SIZE; y++) {
    for (let v = 0; v < DCT_KEEP; v++) {
      let sum = 0;
      for (let x = 0; x < DCT_SIZE; x++) sum += (g[y * DCT_SIZE + x] ?? 0) * (COSINES[v * DCT_SIZE + x] ?? 0);
      rows[y * DCT_KEEP + v] = sum;
    }
  }
  const coefficients = new Float64Array(DCT_KEEP * DCT_KEEP);
  for (let u = 0; u < DCT_KEEP; u++) {
    for (let v = 0; v < DCT_KEEP; v++) {
      let sum = 0;
      for (let y = 0; y < DCT_SIZE; y++)
        sum += (rows[y * DCT_KEEP + v] ?? 0) * (COSINES[u * DCT_SIZE + y] ?? 0);
      coefficients[u * DCT_KEEP + v] = sum;
    }
  }
  // The DC term is the mean brightness; it would dominate the median, so it is left out of it.
  const median = [...coefficients.subarray(1)].sort((a, b) => a - b)[31] ?? 0;
  let hash = 0n;
  for (const c of coefficients) hash = (hash << 1n) | (c > median ? 1n : 0n);
  return hash;
}

export function hammingDistance(a: bigint, b: bigint): number {
  let v = a ^ b;
  let n = 0;
  while (v) {
    n += Number(v & 1n);
    v >>= 1n;
  }
  return n;
}

/** The perceptual hash of an encoded image, or null when it does not decode. */
export function perceptualHash(bytes: Uint8Array): bigint | null {
  const pixels = decodePixels(bytes);
  return pixels ? pHash(pixels) : null;
}

function luminanceStdDev(pixels: { width: number; height: number; data: Uint8Array }): number {
  const g = downscaleGray(pixels, 32, 32);
  let mean = 0;
  for (const v of g) mean += v;
  mean /= g.length;
  let variance = 0;
  for (const v of g) variance += (v - mean) ** 2;
  return Math.sqrt(variance / g.length);
}

/**
 * Every automated check on one image: decodes fully, has the asked size or aspect ratio, is not
 * blank, is not a near-copy of one of `others` (other images of the same case), has a sane file
 * size. Pure: no file system, so the batch engine can run it on bytes before they are saved.
 */
export function checkImage(
  bytes: Uint8Array,
  expected: Expected,
  others: readonly OtherImage[] = [],
): QualityResult {
  const failures: QualityFailure[] = [];
  if (bytes.length < QUALITY_LIMITS.minBytes || bytes.length > QUALITY_LIMITS.maxBytes) {
    failures.push({
      check: 'file-size',
      detail: `${bytes.length} bytes; expected between ${QUALITY_LIMITS.minBytes} and ${QUALITY_LIMITS.maxBytes}`,
    });
  }
  const verified = verifyImage(bytes);
  if (!verified.ok) {
    failures.push({ check: 'decode', detail: verified.reason });
    return { failures, hash: null };
  }
  const { width, height, mimeType } = verified.header;
  if ('width' in expected) {
    if (width !== expected.width || height !== expected.height) {
      failures.push({
        check: 'dimensions',
        detail: `${width}x${height}; expected ${expected.width}x${expected.height}`,
      });
    }
  } else {
    const want = ratioOf(expected.aspectRatio);
    const got = width / height;
    if (Math.abs(got / want - 1) > QUALITY_LIMITS.aspectTolerance) {
      failures.push({
        check: 'aspect-ratio',
        detail: `${width}x${height} is ${got.toFixed(3)}; expected ${expected.aspectRatio} (${want.toFixed(3)})`,
      });
    }
  }
  // WebP is checked structurally only: no pure-JS decoder ships with the project.
  const pixels = mimeType === 'image/webp' ? null : decodePixels(bytes);
  if (!pixels) {
    if (mimeType !== 'image/webp')
      failures.push({ check: 'decode', detail: `cannot decode ${mimeType} pixels` });
    return { failures, hash: null };
  }
  const spread = luminanceStdDev(pixels);
  if (spread < QUALITY_LIMITS.minLuminanceStdDev) {
    failures.push({
      check: 'blank',
      detail: `near-uniform: luminance spread ${spread.toFixed(1)} < ${QUALITY_LIMITS.minLuminanceStdDev}`,
    });
  }
  const hash = pHash(pixels);
  for (const [index, other] of others.entries()) {
    const labelled = typeof other === 'object' && !(other instanceof Uint8Array) ? other : null;
    const image = labelled ? labelled.image : (other as Uint8Array | bigint);
    const otherHash = typeof image === 'bigint' ? image : perceptualHash(image);
    if (otherHash === null) continue;
    const distance = hammingDistance(hash, otherHash);
    if (distance <= QUALITY_LIMITS.maxDuplicateDistance) {
      failures.push({
        check: 'near-duplicate',
        detail: `looks like ${labelled?.label ?? `image ${index + 1}`} (distance ${distance}/64)`,
      });
    }
  }
  return { failures, hash };
}
