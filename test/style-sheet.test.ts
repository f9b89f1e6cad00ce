import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { sha256 } from '../src/batch/save-image.ts';
import { readManifest } from '../src/cases/manifest-store.ts';
import { generateStyleCommand } from '../src/cli/generate-style.ts';
import { validateCase } from '../src/cli/validate-case.ts';
import { InputError } from '../src/errors.ts';
import { createGeminiProvider } from '../src/providers/gemini.ts';
import { planBatch } from '../src/run/run-batch.ts';
import { scanAll, scanCase } from '../src/scan/scan.ts';
import { STYLE_INSTRUCTION, sharedStylePath, styleSlug } from '../src/styles/style-sheet.ts';
import { caseAll, runAgainstFake, TEST_KEY, testConfig } from './support/engine.ts';
import { defaultImage, type FakeGemini } from './support/fake-gemini.ts';
import { useFakeGemini } from './support/fake-world.ts';
import { captureOutput } from './support/output.ts';

const CASE = 'case-2025-01-19';
let fake: FakeGemini;
let root: string;
useFakeGemini((world) => {
  ({ fake, root } = world);
});

async function stylePng(seed: string): Promise<Uint8Array> {
  return (await defaultImage(`style sheet ${seed}`, '1:1')).bytes;
}

interface Part {
  text?: string;
  inlineData?: { mimeType: string; data: string };
}
function partsOf(body: unknown): Part[] {
  return ((body as { contents: Array<{ parts: Part[] }> }).contents[0]?.parts ?? []) as Part[];
}

const staleOf = async () =>
  (await scanCase(root, CASE)).filter((s) => s.findings.includes('stale')).map((s) => s.imageId);

describe('one style per case', () => {
  test('the case style sheet is sent as an inlineData part with every image, and recorded', async () => {
    const style = await stylePng('a');
    await writeFile(join(root, 'cases', CASE, 'style.png'), style);
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    expect(fake.requests).toHaveLength(4);
    for (const r of fake.requests) {
      const parts = partsOf(r.body);
      // The fake joins every text part: the prompt, then the instruction.
      expect(`${parts[0]?.text}\n${STYLE_INSTRUCTION}`).toBe(r.prompt);
      expect(parts[1]?.text).toBe(STYLE_INSTRUCTION);
      expect(parts[2]?.inlineData).toEqual({
        mimeType: 'image/png',
        data: Buffer.from(style).toString('base64'),
      });
    }
    const entry = (await readManifest(root, CASE)).images['suspect-1'];
    expect(entry?.provenance?.references).toEqual([
      { role: 'style', file: `cases/${CASE}/style.png`, sha256: sha256(style) },
    ]);
    expect(await staleOf()).toEqual([]);
    // style.png belongs in a case directory: validate-case does not call it a stray.
    expect((await validateCase(root, CASE)).filter((r) => r.check === 'stray-file')).toEqual([]);
  });

  test('the judge sees the style sheet after the image and compares the art style with it', async () => {
    const style = await stylePng('judge');
    await writeFile(join(root, 'cases', CASE, 'style.png'), style);
    await runAgainstFake(root, fake, { source: caseAll(), vision: 'flag' });
    expect(fake.judge.requests.map((r) => r.images.length)).toEqual([2, 2, 2, 2, 3]);
    expect(fake.judge.requests[0]?.images[1]?.bytes).toBe(style.byteLength);
    expect(fake.judge.requests[0]?.rubric).toContain("the last image, the case's style sheet");
  });

  test('without one of its own, the shared sheet named by the art style is used', async () => {
    const style = await stylePng('shared');
    const path = sharedStylePath(
      root,
      '1940s film noir ink wash, deep blacks, soft grey washes, dramatic side lighting',
    );
    expect(
      path.endsWith(
        `styles/${styleSlug('1940s film noir ink wash, deep blacks, soft grey washes, dramatic side lighting')}.png`,
      ),
    ).toBe(true);
    await mkdir(join(root, 'styles'), { recursive: true });
    await writeFile(path, style);
    await runAgainstFake(root, fake, { source: caseAll(), config: {} });
    const entry = (await readManifest(root, CASE)).images.scene;
    expect(entry?.provenance?.references[0]?.file).toBe(
      'styles/1940s-film-noir-ink-wash-deep-blacks-soft-grey-washes-dramatic-side-lighting.png',
    );
    expect(partsOf(fake.requests[0]?.body)[2]?.inlineData?.data).toBe(Buffer.from(style).toString('base64'));
  });

  test('a run without a sheet sends the prompt alone, as before', async () => {
    await runAgainstFake(root, fake, { source: caseAll() });
    expect((fake.requests[0]?.body as { contents: unknown } | undefined)?.contents).toEqual([
      { role: 'user', parts: [{ text: fake.requests[0]?.prompt }] },
    ]);
  });

  test('changing, adding or removing the sheet makes the case images stale in the scan', async () => {
    const stylePath = join(root, 'cases', CASE, 'style.png');
    await runAgainstFake(root, fake, { source: caseAll() });
    expect(await staleOf()).toEqual([]);
    await writeFile(stylePath, await stylePng('b'));
    expect(await staleOf()).toEqual(['suspect-1', 'suspect-2', 'suspect-3', 'scene']);
    const status = (await scanCase(root, CASE))[0];
    expect(status?.details).toContain("the case's style sheet changed since");
    await runAgainstFake(root, fake, { source: caseAll(), force: true });
    expect(await staleOf()).toEqual([]);
    await writeFile(stylePath, await stylePng('c'));
    expect(await staleOf()).toHaveLength(4);
  });

  test('the scan index does not hide a changed sheet: the case sheet is looked at on every scan', async () => {
    const stylePath = join(root, 'cases', CASE, 'style.png');
    await writeFile(stylePath, await stylePng('a'));
    await runAgainstFake(root, fake, { source: caseAll() });
    const index = join(root, '.git', 'lineup', 'scan-index.json');
    // A clock a minute ahead, and the index's mtime past every file: every record is settled and used.
    const later = { now: () => Date.now() + 60_000 };
    const staleWithIndex = async () =>
      (await scanAll(root, { index, clock: later })).images
        .filter((s) => s.caseId === CASE && s.findings.includes('stale'))
        .map((s) => s.imageId);
    expect(await staleWithIndex()).toEqual([]);
    const settled = new Date(Date.now() + 60_000);
    await utimes(index, settled, settled);
    expect(JSON.parse(await readFile(index, 'utf8')).cases[CASE]).toBeDefined();
    await writeFile(stylePath, await stylePng('b'));
    expect(await staleWithIndex()).toEqual(['suspect-1', 'suspect-2', 'suspect-3', 'scene']);
  });

  test('a style.png that is not a PNG is bad input naming the file', async () => {
    await writeFile(join(root, 'cases', CASE, 'style.png'), 'not an image');
    const config = testConfig();
    const provider = createGeminiProvider({
      apiKey: TEST_KEY,
      model: config.model,
      apiVersion: config.apiVersion,
      baseUrl: fake.url,
      timeoutMs: 1000,
      costPerImage: 0.039,
    });
    const error = await planBatch({ root, config, source: caseAll(), force: false, provider }).catch(
      (e) => e,
    );
    expect(error.constructor.name).toBe('InputErrors');
    expect(String(error.message)).toMatch(/cases\/case-2025-01-19\/style\.png.*not a PNG/);
    expect(fake.requests).toHaveLength(0);
  });

  test('generate-style writes the sheet with Gemini, refuses to overwrite without --force, needs a key', async () => {
    const out = captureOutput();
    const env = { GEMINI_API_KEY: TEST_KEY };
    const args = { caseId: CASE, apiBaseUrl: fake.url };
    expect(await generateStyleCommand(root, args, out, env)).toBe(0);
    const written = await readFile(join(root, 'cases', CASE, 'style.png'));
    expect(written.subarray(1, 4).toString()).toBe('PNG');
    expect(fake.requests[0]?.aspectRatio).toBe('1:1');
    expect(fake.requests[0]?.prompt).toContain('1940s film noir ink wash');
    expect(fake.requests[0]?.prompt).toContain('No people');
    await expect(generateStyleCommand(root, args, captureOutput(), env)).rejects.toThrow(
      /exists; pass --force/,
    );
    expect(await generateStyleCommand(root, { ...args, force: true }, captureOutput(), env)).toBe(0);
    await expect(generateStyleCommand(root, args, captureOutput(), {})).rejects.toBeInstanceOf(InputError);
  });
});
