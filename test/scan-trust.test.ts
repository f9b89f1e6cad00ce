import type { Stats } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveImage } from '../src/batch/save-image.ts';
import { readCase, writeCase } from '../src/cases/case-store.ts';
import { readManifest, updateManifest } from '../src/cases/manifest-store.ts';
import { caseFile, imageFile, manifestFile } from '../src/cases/paths.ts';
import { regenerateMissing } from '../src/cli/scan-command.ts';
import { buildPrompt } from '../src/prompts/index.ts';
import { renderPlaceholderPng } from '../src/providers/placeholder.ts';
import type { ProviderName } from '../src/providers/types.ts';
import { toBatchFile } from '../src/scan/export.ts';
import { imagesToGenerate, type ScanReport, scanAll } from '../src/scan/scan.ts';
import { defaultIndexFile } from '../src/scan/scan-index.ts';
import { defaultImage } from './support/fake-gemini.ts';
import { captureOutput } from './support/output.ts';
import { seedImages } from './support/seed-images.ts';
import { makeTempRoot } from './support/temp-root.ts';

const A = 'case-2025-01-19';
const B = 'case-2025-01-20';
const C = 'case-2025-01-21';
/** When the seeded images were "generated": long before any manifest write of the test. */
const SETTLED = new Date(Date.UTC(2025, 0, 19, 10));

/** Saves every image of a case as Gemini made it (the fake's bytes), approved, as a batch would. */
async function seed(root: string, caseId: string): Promise<void> {
  await seedImages(root, caseId, {
    draw: async (built) => (await defaultImage(built.prompt, built.aspectRatio)).bytes,
    provider: 'gemini',
    model: 'm',
    costUsd: 0.039,
  });
  await settle(root, caseId);
}

/**
 * Moves every stamped image's mtime back to SETTLED and re-stamps it, then approves: the manifest
 * is written after, so the stamps are older than the manifest and the scan may trust them (an
 * image saved in the same file-time step as its manifest would be read anyway, as racily clean).
 */
async function settle(root: string, caseId: string): Promise<void> {
  const stamps = new Map<string, number>();
  for (const imageId of Object.keys((await readManifest(root, caseId)).images)) {
    const file = imageFile(root, caseId, imageId);
    await utimes(file, SETTLED, SETTLED);
    stamps.set(imageId, (await stat(file)).mtimeMs);
  }
  await updateManifest(root, caseId, (m) => {
    for (const [imageId, entry] of Object.entries(m.images)) {
      expect(entry.mtimeMs, `${caseId}/${imageId} was stamped by saveImage`).toBeTypeOf('number');
      entry.mtimeMs = stamps.get(imageId);
      entry.review = { status: 'approved', by: 'alice', at: null, pullRequest: 1, feedback: null };
    }
  });
}

/** Bytes of the same length as the file, but not an image: what a same-size replacement looks like. */
async function sameSizeGarbage(file: string): Promise<Uint8Array> {
  return new Uint8Array((await readFile(file)).length).fill(0x41);
}

function findings(report: ScanReport): Record<string, string> {
  return Object.fromEntries(report.images.map((i) => [`${i.caseId}/${i.imageId}`, i.findings.join('+')]));
}

/** A tree with every finding kind, most images stamped and trusted, a few not. */
async function treeWithEveryFinding(): Promise<string> {
  const root = await makeTempRoot();
  for (const id of [A, B, C]) await seed(root, id);
  // Case A: the broken ones.
  await rm(imageFile(root, A, 'suspect-1'));
  await truncate(imageFile(root, A, 'suspect-2'), 0);
  await writeFile(imageFile(root, A, 'suspect-3'), 'this is not an image at all, just text');
  const scene = imageFile(root, A, 'scene');
  await writeFile(scene, (await readFile(scene)).subarray(0, 2000));
  // Case B: placeholders (by the manifest's word on a trusted file, and by the marker), unrecorded, awaiting review.
  await updateManifest(root, B, (m) => {
    const s1 = m.images['suspect-1'];
    const s3 = m.images['suspect-3'];
    const sc = m.images.scene;
    if (!s1 || !s3 || !sc) throw new Error('seed changed');
    s1.provider = 'placeholder';
    sc.review = { status: 'changes-requested', by: 'bob', at: null, pullRequest: 2, feedback: 'red hat' };
    delete m.images['suspect-3'];
  });
  await writeFile(imageFile(root, B, 'suspect-2'), renderPlaceholderPng('x', 864, 1184, 'suspect'));
  // Case C: stale, an older manifest without stamps, and the racy replacement.
  const data = await readCase(root, C);
  if (!data.suspects[0]) throw new Error('sample case changed');
  data.suspects[0].appearance = `${data.suspects[0].appearance} A fresh scar across the left eyebrow.`;
  await writeCase(root, data);
  await updateManifest(root, C, (m) => {
    if (m.images['suspect-2']) delete m.images['suspect-2'].mtimeMs;
  });
  // suspect-3 of C is replaced by garbage of the same size with the stamped mtime, and the
  // manifest's own mtime is not newer than the stamp: racily clean, so it must be read.
  const racy = imageFile(root, C, 'suspect-3');
  await writeFile(racy, await sameSizeGarbage(racy));
  await utimes(racy, SETTLED, SETTLED);
  await utimes(manifestFile(root, C), SETTLED, SETTLED);
  return root;
}

describe('scan trusting stamped images', () => {
  it('gives the same findings, --check and --export as reading every image', async () => {
    const root = await treeWithEveryFinding();
    const fast = await scanAll(root);
    const full = await scanAll(root, { trustRecorded: false });
    expect(fast).toEqual(full);
    expect(findings(fast)).toEqual({
      [`${A}/suspect-1`]: 'missing',
      [`${A}/suspect-2`]: 'empty',
      [`${A}/suspect-3`]: 'corrupt',
      [`${A}/scene`]: 'corrupt',
      [`${B}/suspect-1`]: 'placeholder',
      [`${B}/suspect-2`]: 'placeholder',
      [`${B}/suspect-3`]: 'unrecorded',
      [`${B}/scene`]: 'awaiting-review',
      [`${C}/suspect-1`]: 'stale',
      [`${C}/suspect-2`]: '',
      [`${C}/suspect-3`]: 'corrupt',
      [`${C}/suspect-4`]: '',
      [`${C}/scene`]: '',
    });

    // The command's --export (the trusting scan) writes what the full scan asks for.
    const file = join(root, 'export.json');
    expect(await regenerateMissing(root, { scanAll: true, export: file }, captureOutput(), {})).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(toBatchFile(imagesToGenerate(full)));
    expect(toBatchFile(imagesToGenerate(full)).images).toHaveLength(8);
    expect(await regenerateMissing(root, { scanAll: true, check: true }, captureOutput(), {})).toBe(1);
  });

  it('trusts a stamped file older than its manifest without reading it, as git trusts its index', async () => {
    const root = await makeTempRoot();
    await seed(root, A);
    // Same size, mtime set back to the stamp on purpose: the one change a stat cannot see.
    const file = imageFile(root, A, 'suspect-1');
    await writeFile(file, await sameSizeGarbage(file));
    await utimes(file, SETTLED, SETTLED);
    const fast = findings(await scanAll(root));
    const full = findings(await scanAll(root, { trustRecorded: false }));
    expect(fast[`${A}/suspect-1`]).toBe('');
    expect(full[`${A}/suspect-1`]).toBe('corrupt');
    // Any other write moves the mtime off the stamp, and the file is read again.
    await writeFile(file, await sameSizeGarbage(file));
    expect(findings(await scanAll(root))[`${A}/suspect-1`]).toBe('corrupt');
  });

  it('saveImage stamps clean images only, never placeholder PNGs', async () => {
    const root = await makeTempRoot();
    await seed(root, A);
    const entry = (await readManifest(root, A)).images['suspect-1'];
    expect(entry?.mtimeMs).toBe((await stat(imageFile(root, A, 'suspect-1'))).mtimeMs);
    const data = await readCase(root, A);
    const built = buildPrompt(data, 'suspect-2');
    const bytes = renderPlaceholderPng(built.prompt, 864, 1184, 'suspect');
    // One sync save of `bytes` as `imageId`, credited to `provider`/`model`.
    const save = (imageId: string, image: Uint8Array, provider: ProviderName, model: string) =>
      saveImage(
        root,
        A,
        imageId,
        {
          ok: true,
          bytes: image,
          mimeType: 'image/png',
          width: 864,
          height: 1184,
          provider,
          model,
          costUsd: 0,
        },
        {
          batchId: 'batch-2025-01-19-002',
          promptHash: built.promptHash,
          attempts: 1,
          generatedAt: 'x',
          mode: 'sync',
          quality: [],
        },
      );
    const saved = await save('suspect-2', bytes, 'placeholder', 'placeholder');
    expect(saved.entry.mtimeMs).toBeUndefined();
    const broken = await save('suspect-3', bytes.subarray(0, 100), 'gemini', 'm');
    expect(broken.entry.mtimeMs).toBeUndefined();
  });
});

/** Where these tests keep the index: where a checkout keeps it (defaultIndexFile is off in CI). */
function indexOf(root: string): string {
  return join(root, '.git', 'lineup', 'scan-index.json');
}

/**
 * A scan clock a minute ahead: every file of the test tree then counts as settled long before the
 * scan, as in a tree that has not changed for a while (the index does not record files changed
 * just before a scan).
 */
const LATER = { now: () => Date.now() + 60_000 };

/** Moves the index's mtime past every file of the tree, so no record is racily clean. */
async function settleIndex(root: string): Promise<void> {
  const later = new Date(Date.now() + 60_000);
  await utimes(indexOf(root), later, later);
}

/** Rewrites the index's record of one image's review status: the scan shows it only if it uses the record. */
async function tamperReview(root: string, caseId: string, imageId: string, status: string): Promise<void> {
  const file = indexOf(root);
  const index = JSON.parse(await readFile(file, 'utf8'));
  index.cases[caseId][3][imageId][5] = status;
  await writeFile(file, JSON.stringify(index));
}

/** Writes a stat into the index as the one a read of that image found clean. */
async function tamperSeen(root: string, caseId: string, imageId: string, info: Stats): Promise<void> {
  const file = indexOf(root);
  const index = JSON.parse(await readFile(file, 'utf8'));
  index.cases[caseId][3][imageId][7] = [info.size, info.mtimeMs, info.ctimeMs, info.ino];
  await writeFile(file, JSON.stringify(index));
}

/** The index's recorded stats of read images, `case/image` to key (null when none). */
async function seenKeys(root: string): Promise<Record<string, unknown>> {
  const { cases } = JSON.parse(await readFile(indexOf(root), 'utf8'));
  const out: Record<string, unknown> = {};
  for (const [caseId, stored] of Object.entries(cases as Record<string, unknown[]>)) {
    for (const [imageId, entry] of Object.entries(stored[3] as Record<string, unknown[]>)) {
      out[`${caseId}/${imageId}`] = entry[7];
    }
  }
  return out;
}

/** Gives every file in the cases' images/ directories a new mtime, as a fresh clone does. */
async function asFreshClone(root: string, caseIds = [A, B, C]): Promise<void> {
  const now = new Date();
  for (const caseId of caseIds) {
    const dir = join(root, 'cases', caseId, 'images');
    for (const name of await readdir(dir))
      if (name !== 'manifest.json') await utimes(join(dir, name), now, now);
  }
}

describe('scan index', () => {
  it('gives what the full scan gives: cold, warm, and from a corrupt index', async () => {
    const root = await treeWithEveryFinding();
    // Two more cases: text the quick check leaves to the schema (zod trims it), and a torn manifest.
    const data = JSON.parse(await readFile(caseFile(root, C), 'utf8'));
    const extra: [string, string][] = [
      ['case-2025-01-22', ' Untrimmed title '],
      ['case-2025-01-23', 'Torn manifest'],
    ];
    for (const [id, title] of extra) {
      await mkdir(join(root, 'cases', id, 'images'), { recursive: true });
      await writeFile(caseFile(root, id), JSON.stringify({ ...data, id, date: id.slice(5), title }));
    }
    await writeFile(manifestFile(root, 'case-2025-01-23'), '{"caseId": "case-2025-01-23", "ima');
    const full = await scanAll(root, { trustRecorded: false });
    expect(full.problems.map((p) => p.caseId)).toEqual(['case-2025-01-23']);
    expect(full.images.filter((i) => i.caseId === 'case-2025-01-22')).toHaveLength(5);
    expect(await scanAll(root, { index: indexOf(root), clock: LATER })).toEqual(full);
    await settleIndex(root);
    expect(await scanAll(root, { index: indexOf(root), clock: LATER })).toEqual(full);
    await writeFile(indexOf(root), '{"format":1,"cases":{"case-2025-01-19":[');
    expect(await scanAll(root, { index: indexOf(root), clock: LATER })).toEqual(full);
    // The torn index was replaced by a whole one.
    expect(Object.keys(JSON.parse(await readFile(indexOf(root), 'utf8')).cases)).toEqual([
      A,
      B,
      C,
      'case-2025-01-22',
    ]);
  });

  it('uses a record only while both files keep their stat and are older than the index', async () => {
    const root = await makeTempRoot();
    await seed(root, A);
    // A whole-millisecond mtime, so that setting it back below restores it exactly.
    await utimes(caseFile(root, A), SETTLED, SETTLED);
    await scanAll(root, { index: indexOf(root), clock: LATER });
    await tamperReview(root, A, 'suspect-1', 'pending');
    await settleIndex(root);
    // The record is used: the scan reports what it says, not what the manifest says.
    expect(findings(await scanAll(root, { index: indexOf(root), clock: LATER }))[`${A}/suspect-1`]).toBe(
      'awaiting-review',
    );

    // An index written for other prompt templates or another builder is ignored whole.
    const indexText = await readFile(indexOf(root), 'utf8');
    await writeFile(indexOf(root), indexText.replace(/"fingerprint":"[0-9a-f]+"/, '"fingerprint":"0"'));
    await settleIndex(root);
    expect(findings(await scanAll(root, { index: indexOf(root), clock: LATER }))[`${A}/suspect-1`]).toBe('');

    // Racily clean: an index not newer than case.json is not trusted for it.
    await tamperReview(root, A, 'suspect-1', 'pending');
    const caseTime = (await stat(caseFile(root, A))).mtime;
    await utimes(indexOf(root), caseTime, caseTime);
    expect(findings(await scanAll(root, { index: indexOf(root), clock: LATER }))[`${A}/suspect-1`]).toBe('');

    // Same size, mtime set back on purpose: the ctime still differs, so the case is read again.
    await scanAll(root, { index: indexOf(root), clock: LATER });
    await tamperReview(root, A, 'suspect-1', 'pending');
    await settleIndex(root);
    const file = caseFile(root, A);
    const before = await stat(file);
    expect(before.mtimeMs).toBe(SETTLED.getTime());
    const text = await readFile(file, 'utf8');
    const edited = text.replace(
      /("appearance": ")(.)/,
      (_, head: string, ch: string) => head + (ch === 'X' ? 'Y' : 'X'),
    );
    expect(edited).not.toBe(text);
    await writeFile(file, edited);
    await utimes(file, SETTLED, SETTLED);
    const after = await stat(file);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    expect(findings(await scanAll(root, { index: indexOf(root), clock: LATER }))[`${A}/suspect-1`]).toBe(
      'stale',
    );
  });

  it('trusts an image a read found clean while its stat holds, as in a fresh clone', async () => {
    const root = await treeWithEveryFinding();
    // No image keeps the mtime its stamp recorded, so without the index every scan reads them all.
    await asFreshClone(root);
    const full = await scanAll(root, { trustRecorded: false });
    expect(await scanAll(root, { index: indexOf(root), clock: LATER })).toEqual(full);
    // Only images a stamp could vouch for are recorded: not the broken ones, not a placeholder PNG.
    const seen = await seenKeys(root);
    expect(seen[`${C}/scene`]).toHaveLength(4);
    expect(seen[`${B}/suspect-1`]).toHaveLength(4);
    for (const id of ['suspect-2', 'suspect-3', 'scene']) expect(seen[`${A}/${id}`]).toBeNull();
    expect(seen[`${B}/suspect-2`]).toBeNull();
    expect(seen[`${C}/suspect-3`]).toBeNull();
    await settleIndex(root);
    expect(await scanAll(root, { index: indexOf(root), clock: LATER })).toEqual(full);

    // The record is used: garbage whose stat is written into it passes unread...
    const file = imageFile(root, C, 'scene');
    await writeFile(file, await sameSizeGarbage(file));
    await tamperSeen(root, C, 'scene', await stat(file));
    await settleIndex(root);
    expect(findings(await scanAll(root, { index: indexOf(root), clock: LATER }))[`${C}/scene`]).toBe('');
    // ...but not when the index is not newer than the file (racily clean)...
    // (Seconds from the whole ms below the change: a Date would round .851 ms up, past it.)
    const changed = Math.floor((await stat(file)).ctimeMs) / 1000;
    await utimes(indexOf(root), changed, changed);
    expect(findings(await scanAll(root, { index: indexOf(root), clock: LATER }))[`${C}/scene`]).toBe(
      'corrupt',
    );
    // ...and any change to the file, even one that sets its mtime back, moves its ctime: read again.
    await tamperSeen(root, C, 'scene', await stat(file));
    await settleIndex(root);
    const { mtime } = await stat(file);
    await utimes(file, mtime, mtime);
    expect(findings(await scanAll(root, { index: indexOf(root), clock: LATER }))[`${C}/scene`]).toBe(
      'corrupt',
    );
    expect((await seenKeys(root))[`${C}/scene`]).toBeNull();
  });

  it('does not record the stat of an image changed just before the scan', async () => {
    const root = await makeTempRoot();
    await seed(root, A);
    await scanAll(root, { index: indexOf(root), clock: LATER });
    await settleIndex(root);
    await asFreshClone(root, [A]);
    await scanAll(root, { index: indexOf(root), clock: { now: () => Date.now() } });
    expect(Object.values(await seenKeys(root))).toEqual([null, null, null, null]);
    await scanAll(root, { index: indexOf(root), clock: LATER });
    expect(Object.values(await seenKeys(root)).every((k) => Array.isArray(k))).toBe(true);
  });

  it('does not record a case whose files changed just before the scan', async () => {
    const root = await makeTempRoot();
    await seed(root, A);
    // Every file of the tree was just written: with the real clock nothing is recorded...
    await scanAll(root, { index: indexOf(root), clock: { now: () => Date.now() } });
    await expect(access(indexOf(root))).rejects.toThrow();
    // ...and a minute later all of it is.
    await scanAll(root, { index: indexOf(root), clock: LATER });
    expect(Object.keys(JSON.parse(await readFile(indexOf(root), 'utf8')).cases)).toEqual([A, B, C]);
  });

  it('lives in the git directory of a checkout, not in CI or when turned off, and not outside git', async () => {
    const root = await makeTempRoot();
    expect(defaultIndexFile(root, {})).toBeNull();
    await mkdir(join(root, '.git'));
    expect(defaultIndexFile(root, {})).toBe(`${root}/.git/lineup/scan-index.json`);
    expect(defaultIndexFile(root, { CI: 'true' })).toBeNull();
    expect(defaultIndexFile(root, { GITHUB_ACTIONS: 'true' })).toBeNull();
    expect(defaultIndexFile(root, { LINEUP_SCAN_INDEX: '0' })).toBeNull();
    // A worktree's .git is a file naming its own git directory.
    const worktree = await makeTempRoot();
    await writeFile(join(worktree, '.git'), `gitdir: ${root}/.git/worktrees/wt\n`);
    expect(defaultIndexFile(worktree, {})).toBe(`${root}/.git/worktrees/wt/lineup/scan-index.json`);

    await seed(root, A);
    await scanAll(root, { index: false });
    await expect(access(join(root, '.git', 'lineup'))).rejects.toThrow();
  });
});
