import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import jpeg from 'jpeg-js';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { readCase, writeCase } from '../src/cases/case-store.ts';
import { writeManifest } from '../src/cases/manifest-store.ts';
import { imagesDir } from '../src/cases/paths.ts';
import type { Manifest, ManifestEntry } from '../src/cases/schema.ts';
import { previewCommand } from '../src/cli/preview.ts';
import { decodePixels } from '../src/images/inspect.ts';
import { collectPreview, escapeHtml, previewFile, writePreview } from '../src/preview/index.ts';
import { buildPrompt } from '../src/prompts/index.ts';
import { createPlaceholderProvider } from '../src/providers/placeholder.ts';
import { captureOutput } from './support/output.ts';
import { makeTempRoot } from './support/temp-root.ts';

const CASE_ID = 'case-2025-01-19';
const HOSTILE_NAME = '<img src=x onerror="alert(1)"> & </article><script>alert(2)</script>';

async function placeholderPng(prompt: string, aspectRatio: '3:4' | '16:9'): Promise<Uint8Array> {
  const result = await createPlaceholderProvider().generate({
    kind: aspectRatio === '16:9' ? 'scene' : 'suspect',
    caseId: CASE_ID,
    imageId: 'x',
    prompt,
    aspectRatio,
  });
  if (!result.ok) throw new Error(result.message);
  return result.bytes;
}

function entry(file: string, bytes: Uint8Array, over: Partial<ManifestEntry>): ManifestEntry {
  return {
    file,
    sha256: createSha(bytes),
    bytes: bytes.length,
    width: 864,
    height: 1184,
    mimeType: 'image/png',
    provider: 'gemini',
    model: 'gemini-2.5-flash-image',
    promptHash: '0'.repeat(64),
    generatedAt: '2025-01-19T10:02:15.000Z',
    batchId: 'batch-2025-01-19-001',
    attempts: 1,
    costUsd: 0.039,
    mode: 'sync',
    quality: [],
    review: { status: 'pending', by: null, at: null, pullRequest: null, feedback: null },
    ...over,
  };
}

/** Drops the placeholder's tEXt marker, so the image passes for one from Gemini. */
function stripPlaceholderMarker(png: Uint8Array): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const keep: Uint8Array[] = [png.subarray(0, 8)];
  for (let at = 8; at + 12 <= png.length; ) {
    const end = at + 12 + view.getUint32(at);
    if (String.fromCharCode(...png.subarray(at + 4, at + 8)) !== 'tEXt') keep.push(png.subarray(at, end));
    at = end;
  }
  return Buffer.concat(keep);
}

function createSha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The sample case with a hostile suspect name, and images covering each state the page shows:
 * suspect-1 an approved "Gemini" PNG, suspect-2 a JPEG with quality flags and requested changes,
 * suspect-3 missing, the scene a placeholder awaiting review.
 */
async function fixtureRoot(): Promise<string> {
  const root = await makeTempRoot();
  const data = await readCase(root, CASE_ID);
  const s1 = data.suspects[0];
  if (s1) s1.name = HOSTILE_NAME;
  await writeCase(root, data);
  const dir = imagesDir(root, CASE_ID);
  await mkdir(dir, { recursive: true });

  const p1 = buildPrompt(data, 'suspect-1');
  const png1 = stripPlaceholderMarker(await placeholderPng(p1.prompt, '3:4'));
  await writeFile(join(dir, 'suspect-1.png'), png1);

  const p2 = buildPrompt(data, 'suspect-2');
  const pixels = decodePixels(await placeholderPng(p2.prompt, '3:4'));
  if (!pixels) throw new Error('cannot decode placeholder');
  const jpg = new Uint8Array(
    jpeg.encode({ data: pixels.data, width: pixels.width, height: pixels.height }, 80).data,
  );
  await writeFile(join(dir, 'suspect-2.jpg'), jpg);

  const scene = buildPrompt(data, 'scene');
  const sceneBytes = await placeholderPng(scene.prompt, '16:9');
  await writeFile(join(dir, 'scene.png'), sceneBytes);

  const manifest: Manifest = {
    caseId: CASE_ID,
    images: {
      'suspect-1': entry('suspect-1.png', png1, {
        promptHash: p1.promptHash,
        review: {
          status: 'approved',
          by: 'octo<cat>',
          at: '2025-01-20T09:00:00Z',
          pullRequest: 12,
          feedback: null,
        },
      }),
      'suspect-2': entry('suspect-2.jpg', jpg, {
        mimeType: 'image/jpeg',
        promptHash: p2.promptHash,
        quality: ['near-uniform', 'duplicate-of:suspect-1'],
        review: {
          status: 'changes-requested',
          by: 'reviewer',
          at: '2025-01-20T09:05:00Z',
          pullRequest: 12,
          feedback: 'Make the moustache <b>bigger</b>',
        },
      }),
      scene: entry('scene.png', sceneBytes, {
        provider: 'placeholder',
        model: 'placeholder',
        width: 1344,
        height: 768,
        costUsd: 0,
        promptHash: scene.promptHash,
      }),
    },
  };
  await writeManifest(root, manifest);
  return root;
}

describe('preview contact sheet', () => {
  it('collects each image with its state, prompt and manifest facts', async () => {
    const root = await fixtureRoot();
    const { images } = await collectPreview(root, CASE_ID);
    expect(images.map((i) => [i.imageId, i.label === HOSTILE_NAME ? 'hostile' : i.label, i.status])).toEqual([
      ['suspect-1', 'hostile', 'ok'],
      ['suspect-2', 'Walter Brisk', 'ok'],
      ['suspect-3', 'Felix Antonov', 'missing'],
      ['scene', 'Crime scene', 'ok'],
    ]);
    const [s1, s2, s3, scene] = images;
    expect(s1).toMatchObject({ placeholder: false, stale: false, modified: false, mimeType: 'image/png' });
    expect(s1?.review?.status).toBe('approved');
    expect(s2).toMatchObject({ mimeType: 'image/jpeg', quality: ['near-uniform', 'duplicate-of:suspect-1'] });
    expect(s2?.dataUri?.startsWith('data:image/jpeg;base64,/9j/')).toBe(true);
    // The reviewer's notes are part of the prompt that will be sent next time.
    expect(s2?.prompt).toContain('Reviewer notes: Make the moustache <b>bigger</b>');
    expect(s3?.dataUri).toBeUndefined();
    expect(s3?.prompt).toContain('Appearance: A lanky young man');
    expect(scene).toMatchObject({ placeholder: true, provider: 'placeholder', width: 1344, height: 768 });
  });

  it('flags stale prompts, hand-replaced files and undecodable images', async () => {
    const root = await fixtureRoot();
    const data = await readCase(root, CASE_ID);
    const s2 = data.suspects[1];
    if (s2) s2.appearance = 'A completely different person now.';
    await writeCase(root, data);
    const dir = imagesDir(root, CASE_ID);
    await writeFile(join(dir, 'scene.png'), (await readFile(join(dir, 'scene.png'))).subarray(0, 200));
    await writeFile(join(dir, 'suspect-3.png'), '');
    const { images } = await collectPreview(root, CASE_ID);
    const byId = Object.fromEntries(images.map((i) => [i.imageId, i]));
    expect(byId['suspect-1']?.stale).toBe(false);
    expect(byId['suspect-2']?.stale).toBe(true);
    expect(byId.scene).toMatchObject({ status: 'unreadable' });
    expect(byId.scene?.reason).toMatch(/truncated|corrupt/i);
    expect(byId['suspect-3']).toMatchObject({ status: 'unreadable', reason: 'the file is empty' });
  });

  it('escapes every text from the case and the manifest', async () => {
    const root = await fixtureRoot();
    const { html } = await writePreview(root, CASE_ID, { generatedAt: '2025-01-20T00:00:00Z' });
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain(escapeHtml(HOSTILE_NAME));
    expect(html).toContain('octo&lt;cat&gt;');
    expect(html).toContain('Make the moustache &lt;b&gt;bigger&lt;/b&gt;');
    // Exactly the three present images are <img> elements; the missing one is a labelled box.
    expect(html.match(/<img /g)).toHaveLength(3);
    expect(html).toContain('Image missing');
    expect(escapeHtml(`"'<>&\``)).toBe('&quot;&#39;&lt;&gt;&amp;&#96;');
  });

  it('writes reports/previews/<case-id>.html and prints a line per image', async () => {
    const root = await fixtureRoot();
    const out = captureOutput();
    expect(await previewCommand(root, { caseId: CASE_ID }, out)).toBe(0);
    expect(existsSync(previewFile(root, CASE_ID))).toBe(true);
    expect(previewFile(root, CASE_ID)).toBe(join(root, 'reports', 'previews', `${CASE_ID}.html`));
    const text = out.lines.join('\n');
    expect(text).toMatch(/suspect-3\s+missing/);
    expect(text).toMatch(/scene\s+ok\s+placeholder, review pending/);
    expect(text).toMatch(/suspect-2\s+ok\s+review changes-requested, quality: near-uniform/);
    await expect(previewCommand(root, { caseId: '../../etc' }, out)).rejects.toThrow(/not a case id/);
    await expect(previewCommand(root, { caseId: 'case-2031-01-01' }, out)).rejects.toThrow(/does not exist/);
  });
});

/** The Debian package's binary, or another found on PATH; CHROMIUM_PATH overrides both. */
function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .flatMap((d) => [join(d, 'chromium'), join(d, 'chromium-browser')]),
  ].filter((p): p is string => Boolean(p));
  return candidates.find((p) => existsSync(p));
}

const CHROMIUM = findChromium();
if (!CHROMIUM) {
  console.warn(
    'SKIPPED the Chromium preview test: no chromium binary found (install the Debian package `chromium`, as .ci/run does, or set CHROMIUM_PATH).',
  );
}

describe.skipIf(!CHROMIUM)('preview in headless Chromium', () => {
  it('loads, renders every image and takes a screenshot', { timeout: 60_000 }, async () => {
    // skipIf above already keeps this test from running without a binary; this narrows the type.
    if (!CHROMIUM) throw new Error('no chromium binary');
    const root = await fixtureRoot();
    const { file } = await writePreview(root, CASE_ID);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requested: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('dialog', (d) => {
        errors.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      const response = await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      expect(response?.ok() ?? true).toBe(true);
      expect(await page.title()).toContain('The Vanishing Violin');

      const images = await page.$$eval('img', (imgs) =>
        imgs.map((img) => ({
          complete: img.complete,
          naturalWidth: img.naturalWidth,
          naturalHeight: img.naturalHeight,
          card: img.closest('article')?.getAttribute('data-image-id'),
        })),
      );
      expect(images.map((i) => i.card)).toEqual(['suspect-1', 'suspect-2', 'scene']);
      for (const img of images) {
        expect(img.complete).toBe(true);
        expect(img.naturalWidth).toBeGreaterThan(0);
      }
      expect(images.find((i) => i.card === 'scene')).toMatchObject({
        naturalWidth: 1344,
        naturalHeight: 768,
      });

      // The hostile name is shown as text, not run or parsed as markup.
      expect(await page.locator('#suspect-1 h2').textContent()).toBe(HOSTILE_NAME);
      expect(await page.locator('script').count()).toBe(0);
      expect(await page.locator('#suspect-3').getAttribute('data-status')).toBe('missing');
      expect(await page.locator('#suspect-3 .frame').textContent()).toBe('Image missing');
      expect(await page.locator('#scene .tag.placeholder').count()).toBe(1);
      expect(errors).toEqual([]);
      // Only the page itself and its inline images: nothing fetched from anywhere.
      expect(requested.filter((u) => !u.startsWith('data:') && !u.startsWith('file:'))).toEqual([]);

      const shotDir = await mkdtemp(join(tmpdir(), 'lineup-preview-'));
      const shotFile = join(shotDir, `${CASE_ID}.png`);
      await page.screenshot({ path: shotFile, fullPage: true });
      const shot = await readFile(shotFile);
      expect([...shot.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(shot.length).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
