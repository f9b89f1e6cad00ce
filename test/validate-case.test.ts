import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCase, writeCase } from '../src/cases/case-store.ts';
import { updateManifest } from '../src/cases/manifest-store.ts';
import { caseDir, caseFile, imageFile, imagesDir } from '../src/cases/paths.ts';
import { validateCase, validateCaseCommand } from '../src/cli/validate-case.ts';
import { captureOutput } from './support/output.ts';
import { seedPlaceholderImages } from './support/seed-images.ts';
import { makeTempRoot } from './support/temp-root.ts';

const CASE = 'case-2025-01-19';

describe('validate-case', () => {
  it('a sample case without images and a case with recorded images are valid (exit 0)', async () => {
    const root = await makeTempRoot();
    for (const id of ['case-2025-01-19', 'case-2025-01-20', 'case-2025-01-21']) {
      expect(await validateCase(root, id)).toEqual([]);
    }
    await seedPlaceholderImages(root, CASE);
    const out = captureOutput();
    expect(await validateCaseCommand(root, { caseId: CASE }, out)).toBe(0);
    expect(out.lines).toEqual([`${CASE}: valid.`]);
  });

  it('lists every schema problem of case.json at once, duplicate suspect ids included', async () => {
    const root = await makeTempRoot();
    const data = JSON.parse(await readFile(caseFile(root, CASE), 'utf8'));
    data.suspects[1].id = 'suspect-1';
    data.title = '';
    data.extra = true;
    await writeFile(caseFile(root, CASE), JSON.stringify(data));
    const rows = await validateCase(root, CASE);
    const subjects = rows.map((r) => r.subject);
    expect(subjects).toContain('case.json: suspects[1].id');
    expect(subjects).toContain('case.json: title');
    expect(rows.find((r) => r.subject === 'case.json: suspects[1].id')?.detail).toMatch(
      /duplicate suspect id/,
    );
    expect(rows.every((r) => r.check === 'schema')).toBe(true);
  });

  it('cross-checks the manifest against the files and the case', async () => {
    const root = await makeTempRoot();
    await seedPlaceholderImages(root, CASE);
    // Same size, different content: only the hash can tell.
    const s1 = imageFile(root, CASE, 'suspect-1');
    const bytes = await readFile(s1);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    await writeFile(s1, bytes);
    await writeFile(
      imageFile(root, CASE, 'suspect-2'),
      (await readFile(imageFile(root, CASE, 'suspect-2'))).subarray(0, 3000),
    );
    const data = await readCase(root, CASE);
    data.suspects = data.suspects.filter((s) => s.id !== 'suspect-3');
    await writeCase(root, data);
    await writeFile(join(imagesDir(root, CASE), 'notes.txt'), 'hi');
    await writeFile(join(imagesDir(root, CASE), 'scene.jpg'), 'old');
    await writeFile(join(caseDir(root, CASE), 'draft.json'), '{}');
    await updateManifest(root, CASE, (m) => {
      const e = m.images.scene;
      if (e) e.width = 10;
    });
    const rows = (await validateCase(root, CASE)).map((r) => `${r.check} ${r.subject}`);
    expect(rows).toEqual(
      expect.arrayContaining([
        'sha256 images/suspect-1.png',
        'size images/suspect-2.png',
        'sha256 images/suspect-2.png',
        'orphan-entry images/manifest.json: images.suspect-3',
        'dimensions images/scene.png',
        'stray-file images/notes.txt',
        'stray-file images/suspect-3.png',
        'unrecorded images/scene.jpg',
        'stray-file draft.json',
      ]),
    );
    expect(rows.some((r) => r.startsWith('size images/suspect-1.png'))).toBe(false);
    const out = captureOutput();
    expect(await validateCaseCommand(root, { caseId: CASE }, out)).toBe(1);
    expect(out.lines.join('\n')).toMatch(/check\s+where\s+problem/);
    expect(out.lines.join('\n')).toMatch(/problem\(s\)\./);
  });

  it('a manifest entry without its file and a broken manifest are problems', async () => {
    const root = await makeTempRoot();
    await mkdir(imagesDir(root, CASE), { recursive: true });
    await seedPlaceholderImages(root, CASE);
    await writeFile(imageFile(root, CASE, 'scene'), '');
    await rm(imageFile(root, CASE, 'suspect-1'));
    const rows = (await validateCase(root, CASE)).map((r) => `${r.check} ${r.subject}`);
    expect(rows).toContain('missing-file images/suspect-1.png');
    expect(rows).toContain('image images/scene.png');
    await writeFile(join(imagesDir(root, CASE), 'manifest.json'), '{"caseId": 5}');
    const broken = await validateCase(root, CASE);
    expect(broken.some((r) => r.check === 'schema' && r.subject.startsWith('images/manifest.json'))).toBe(
      true,
    );
  });

  it('an unparsable manifest is reported once, not again as "no manifest" for every image', async () => {
    const root = await makeTempRoot();
    await seedPlaceholderImages(root, CASE);
    await writeFile(join(imagesDir(root, CASE), 'manifest.json'), '{ not json');
    const rows = await validateCase(root, CASE);
    expect(rows.filter((r) => r.subject.startsWith('images/manifest.json'))).toHaveLength(1);
    expect(rows.find((r) => r.subject === 'images/manifest.json')?.detail).toMatch(/not valid JSON/);
    expect(rows.filter((r) => r.check === 'unrecorded')).toEqual([]);
    // Without any manifest, each image is unrecorded.
    await rm(join(imagesDir(root, CASE), 'manifest.json'));
    const missing = await validateCase(root, CASE);
    expect(missing.filter((r) => r.check === 'unrecorded').map((r) => r.detail)).toEqual(
      Array(4).fill('there is no images/manifest.json'),
    );
  });

  it('bad input: an invalid or unknown case id (exit 2 via runCommand)', async () => {
    const root = await makeTempRoot();
    await expect(validateCaseCommand(root, { caseId: '../x' }, captureOutput())).rejects.toThrow(
      /not a case id/,
    );
    await expect(validateCaseCommand(root, { caseId: 'case-2030-02-02' }, captureOutput())).rejects.toThrow(
      /does not exist/,
    );
    await expect(validateCaseCommand(root, {}, captureOutput())).rejects.toThrow(/--case-id is required/);
  });
});
