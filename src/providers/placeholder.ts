import { createHash } from 'node:crypto';
import { constants, crc32, deflateSync } from 'node:zlib';
import { seededRandom } from '../util/random.ts';
import { type GenerationResult, type ImageProvider, type ImageRequest, SIZE_FOR_ASPECT } from './types.ts';

/** The tEXt chunk that marks a placeholder, so a scan can tell one apart without the manifest. */
const PLACEHOLDER_TEXT_KEY = 'Software';
const PLACEHOLDER_TEXT_VALUE = 'lineup-placeholder';

type Rgb = readonly [number, number, number];

function hsl(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [
    Math.round(a[0] + (b[0] - a[0]) * t),
    Math.round(a[1] + (b[1] - a[1]) * t),
    Math.round(a[2] + (b[2] - a[2]) * t),
  ];
}

/**
 * RGB pixels laid out as PNG scanlines (one filter byte before every row), so encoding needs no copy.
 */
class Canvas {
  readonly stride: number;
  readonly raw: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.stride = 1 + width * 3;
    this.raw = new Uint8Array(this.stride * height);
  }

  span(y: number, x0: number, x1: number, c: Rgb): void {
    if (y < 0 || y >= this.height) return;
    const from = Math.max(0, Math.round(x0));
    const to = Math.min(this.width, Math.round(x1));
    if (to <= from) return;
    const raw = this.raw;
    let i = y * this.stride + 1 + from * 3;
    const end = i + (to - from) * 3;
    const [r, g, b] = c;
    while (i < end) {
      raw[i] = r;
      raw[i + 1] = g;
      raw[i + 2] = b;
      i += 3;
    }
  }

  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    const top = Math.max(0, Math.round(y0));
    const bottom = Math.min(this.height, Math.round(y1));
    for (let y = top; y < bottom; y++) this.span(y, x0, x1, c);
  }

  ellipse(cx: number, cy: number, rx: number, ry: number, c: Rgb): void {
    const top = Math.max(0, Math.floor(cy - ry));
    const bottom = Math.min(this.height, Math.ceil(cy + ry));
    for (let y = top; y < bottom; y++) {
      const d = (y + 0.5 - cy) / ry;
      if (d * d >= 1) continue;
      const half = rx * Math.sqrt(1 - d * d);
      this.span(y, cx - half, cx + half, c);
    }
  }

  /** Fills every column from its own top edge down to the bottom: hills, rooftops, slopes. */
  below(profile: Float64Array, top: Rgb, bottom: Rgb): void {
    let minY = this.height;
    for (const y of profile) minY = Math.min(minY, y);
    for (let y = Math.max(0, Math.floor(minY)); y < this.height; y++) {
      const c = mix(top, bottom, y / this.height);
      let x = 0;
      while (x < this.width) {
        while (x < this.width && (profile[x] ?? 0) > y) x++;
        const start = x;
        while (x < this.width && (profile[x] ?? 0) <= y) x++;
        if (x > start) this.span(y, start, x, c);
      }
    }
  }

  verticalGradient(y0: number, y1: number, a: Rgb, b: Rgb): void {
    const span = Math.max(1, y1 - y0);
    for (let y = Math.max(0, Math.round(y0)); y < Math.min(this.height, Math.round(y1)); y++) {
      this.span(y, 0, this.width, mix(a, b, (y - y0) / span));
    }
  }
}

interface Palette {
  pick(): Rgb;
  light(): Rgb;
  dark(): Rgb;
}

function createPalette(random: () => number): Palette {
  const base = random() * 360;
  // Hues near the base plus one complement keep an image coherent while prompts differ in colour too.
  const hues = [base, base + 25 + random() * 30, base - 25 - random() * 30, base + 180];
  const hue = (): number => ((hues[Math.floor(random() * hues.length)] ?? base) + 360) % 360;
  return {
    pick: () => hsl(hue(), 0.35 + random() * 0.5, 0.2 + random() * 0.6),
    light: () => hsl(hue(), 0.3 + random() * 0.5, 0.68 + random() * 0.22),
    dark: () => hsl(hue(), 0.3 + random() * 0.5, 0.08 + random() * 0.2),
  };
}

/**
 * Big, high-contrast shapes with seeded positions: perceptual hashes look at coarse luminance,
 * so the layout (not only the hue) must change from one prompt to the next.
 */
function drawBackdrop(canvas: Canvas, random: () => number, palette: Palette): void {
  const { width: w, height: h } = canvas;
  const style = Math.floor(random() * 4);
  const tone = (k: number): Rgb => (k % 2 === 0 ? palette.light() : palette.dark());
  if (style === 0) {
    let x = 0;
    for (let k = 0; x < w; k++) {
      const bandWidth = w * (0.08 + random() * 0.3);
      canvas.rect(x, 0, x + bandWidth, h, tone(k));
      x += bandWidth;
    }
  } else if (style === 1) {
    let y = 0;
    for (let k = 0; y < h; k++) {
      const bandHeight = h * (0.08 + random() * 0.3);
      canvas.rect(0, y, w, y + bandHeight, tone(k));
      y += bandHeight;
    }
  } else if (style === 2) {
    const cols = 2 + Math.floor(random() * 3);
    const rows = 2 + Math.floor(random() * 3);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        canvas.rect(
          (c * w) / cols,
          (r * h) / rows,
          ((c + 1) * w) / cols,
          ((r + 1) * h) / rows,
          tone(r + c + (random() < 0.3 ? 1 : 0)),
        );
      }
    }
  } else {
    // A slanted split: one diagonal edge across the whole frame.
    canvas.rect(0, 0, w, h, palette.light());
    const profile = new Float64Array(w);
    const y0 = h * (0.1 + random() * 0.8);
    const y1 = h * (0.1 + random() * 0.8);
    for (let x = 0; x < w; x++) profile[x] = y0 + ((y1 - y0) * x) / w;
    canvas.below(profile, palette.dark(), palette.pick());
  }
  const blobs = 2 + Math.floor(random() * 4);
  for (let k = 0; k < blobs; k++) {
    const cx = random() * w;
    const cy = random() * h;
    const size = Math.min(w, h) * (0.08 + random() * 0.22);
    if (random() < 0.5) canvas.ellipse(cx, cy, size, size * (0.6 + random() * 0.8), palette.pick());
    else canvas.rect(cx - size, cy - size * 0.7, cx + size, cy + size * 0.7, palette.pick());
  }
}

function drawPortrait(canvas: Canvas, random: () => number, palette: Palette): void {
  drawBackdrop(canvas, random, palette);
  const { width: w, height: h } = canvas;
  const cx = w * (0.25 + random() * 0.5);
  const r = Math.min(w, h) * (0.09 + random() * 0.08);
  const headY = h * (0.25 + random() * 0.2);
  const figure = random() < 0.5 ? palette.dark() : palette.light();
  const shoulderY = headY + r * (2.2 + random() * 0.6);
  const shoulderW = r * (2 + random() * 0.9);
  canvas.ellipse(cx, shoulderY, shoulderW, r * 1.3, figure);
  canvas.rect(cx - shoulderW, shoulderY, cx + shoulderW, h, figure);
  canvas.rect(cx - r * 0.4, headY, cx + r * 0.4, shoulderY, figure);
  canvas.ellipse(cx, headY, r * (0.8 + random() * 0.15), r, figure);
  // A hat on some suspects changes the outline, not just the colour.
  if (random() < 0.4) {
    const hat = palette.pick();
    canvas.rect(cx - r * 1.4, headY - r * 0.75, cx + r * 1.4, headY - r * 0.55, hat);
    canvas.rect(cx - r * 0.8, headY - r * 1.6, cx + r * 0.8, headY - r * 0.6, hat);
  }
}

function drawScene(canvas: Canvas, random: () => number, palette: Palette): void {
  const { width: w, height: h } = canvas;
  const horizon = h * (0.3 + random() * 0.4);
  const night = random() < 0.5;
  const skyTop = night ? palette.dark() : palette.light();
  const skyLow = palette.pick();
  canvas.verticalGradient(0, horizon, skyTop, skyLow);
  canvas.rect(0, horizon, w, h, skyLow);
  const orb = night ? palette.light() : palette.pick();
  const orbR = Math.min(w, h) * (0.04 + random() * 0.08);
  canvas.ellipse(w * (0.1 + random() * 0.8), horizon * (0.2 + random() * 0.5), orbR, orbR, orb);

  const far = new Float64Array(w);
  const waves = [0, 1, 2].map(() => ({
    f: 1 + random() * 5,
    p: random() * Math.PI * 2,
    a: h * random() * 0.08,
  }));
  for (let x = 0; x < w; x++) {
    let y = horizon;
    for (const wave of waves) y -= wave.a * (1 + Math.sin((x / w) * Math.PI * 2 * wave.f + wave.p));
    far[x] = y;
  }
  canvas.below(far, palette.pick(), palette.dark());

  // A skyline of blocks standing on the horizon: a town for some scenes, a few posts for others.
  const near = new Float64Array(w).fill(h);
  const buildings = Math.floor(random() * 9);
  for (let k = 0; k < buildings; k++) {
    const bw = w * (0.03 + random() * 0.12);
    const x0 = Math.floor(random() * w);
    const top = horizon - h * (0.05 + random() * 0.35);
    for (let x = x0; x < Math.min(w, x0 + bw); x++) near[x] = Math.min(near[x] ?? h, top);
  }
  canvas.below(near, palette.dark(), palette.dark());
  const groundY = horizon + (h - horizon) * (0.3 + random() * 0.4);
  canvas.verticalGradient(groundY, h, palette.pick(), palette.dark());
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function encodePng(canvas: Canvas): Uint8Array {
  const { raw, stride, width, height } = canvas;
  // Sub filter, right to left so each byte still sees its unfiltered left neighbour: flat shapes become zeros.
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    raw[row] = 1;
    for (let i = row + stride - 1; i > row + 3; i--) raw[i] = ((raw[i] ?? 0) - (raw[i - 3] ?? 0)) & 0xff;
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const text = new TextEncoder().encode(`${PLACEHOLDER_TEXT_KEY}\0${PLACEHOLDER_TEXT_VALUE}`);
  const idat = deflateSync(raw, { level: 6, strategy: constants.Z_RLE });
  const parts = [
    PNG_SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('tEXt', text),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function seedOf(prompt: string): number {
  return createHash('sha256').update(prompt).digest().readUInt32LE(0);
}

/** Draws the placeholder PNG for a prompt: same prompt and size, same bytes. */
export function renderPlaceholderPng(
  prompt: string,
  width: number,
  height: number,
  kind: ImageRequest['kind'],
): Uint8Array {
  const random = seededRandom(seedOf(prompt));
  const palette = createPalette(random);
  const canvas = new Canvas(width, height);
  if (kind === 'scene') drawScene(canvas, random, palette);
  else drawPortrait(canvas, random, palette);
  return encodePng(canvas);
}

/** True when the PNG carries the placeholder's tEXt marker; reads only the chunks before the image data. */
export function isPlaceholderPng(bytes: Uint8Array): boolean {
  if (bytes.length < 8 || PNG_SIGNATURE.some((v, i) => bytes[i] !== v)) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const wanted = `${PLACEHOLDER_TEXT_KEY}\0${PLACEHOLDER_TEXT_VALUE}`;
  let at = 8;
  while (at + 8 <= bytes.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(
      bytes[at + 4] ?? 0,
      bytes[at + 5] ?? 0,
      bytes[at + 6] ?? 0,
      bytes[at + 7] ?? 0,
    );
    if (type === 'IDAT' || type === 'IEND') return false;
    if (type === 'tEXt' && length === wanted.length && at + 8 + length <= bytes.length) {
      let same = true;
      for (let i = 0; i < length && same; i++) same = bytes[at + 8 + i] === wanted.charCodeAt(i);
      if (same) return true;
    }
    at += 12 + length;
  }
  return false;
}

export function createPlaceholderProvider(): ImageProvider {
  return {
    name: 'placeholder',
    model: 'placeholder',
    costPerImage: 0,
    async generate(request: ImageRequest): Promise<GenerationResult> {
      if (request.signal?.aborted) {
        return {
          ok: false,
          errorType: 'network',
          reason: 'timeout',
          message: 'aborted before the placeholder was drawn',
        };
      }
      const { width, height } = SIZE_FOR_ASPECT[request.aspectRatio];
      return {
        ok: true,
        bytes: renderPlaceholderPng(request.prompt, width, height, request.kind),
        mimeType: 'image/png',
        width,
        height,
        provider: 'placeholder',
        model: 'placeholder',
        costUsd: 0,
      };
    },
  };
}
