import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import type { Case, Manifest } from '../src/cases/schema.ts';
import { buildPrompt } from '../src/prompts/index.ts';
import { scanAll } from '../src/scan/scan.ts';

function tinyPng(width: number, height: number, seed: number): Uint8Array {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 31 + seed * 17) & 0xff;
  return new Uint8Array(PNG.sync.write(png));
}

function caseFor(index: number): Case {
  const date = new Date(Date.UTC(2000, 0, 1) + index * 86_400_000).toISOString().slice(0, 10);
  return {
    id: `case-${date}`,
    title: `Bench case ${index}`,
    date,
    scene: {
      description: `A quiet library, shelf ${index} toppled over.`,
      location: 'Library',
      mood: 'Tense',
    },
    suspects: [1, 2, 3].map((n) => ({
      id: `suspect-${n}`,
      name: `Suspect ${n} of ${index}`,
      appearance: `Person ${n} of case ${index}: tall, dark coat, silver ring, a scar over the ${n % 2 ? 'left' : 'right'} eye.`,
      occupation: 'Librarian',
      age: 30 + n,
    })),
  };
}

/** Writes `count` cases of 4 images each with manifests; a few images are left broken so the scan has findings. */
async function buildRepo(root: string, count: number): Promise<void> {
  const portrait = tinyPng(12, 16, 1);
  const scene = tinyPng(16, 9, 2);
  const shas = new Map([portrait, scene].map((b) => [b, createHash('sha256').update(b).digest('hex')]));
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const data = caseFor(i);
      const dir = join(root, 'cases', data.id);
      await mkdir(join(dir, 'images'), { recursive: true });
      const manifest: Manifest = { caseId: data.id, images: {} };
      for (const imageId of [...data.suspects.map((s) => s.id), 'scene']) {
        const bytes = imageId === 'scene' ? scene : portrait;
        // Every 97th image is missing, so the scan has something to report.
        if ((i * 4 + imageId.length) % 97 !== 0)
          await writeFile(join(dir, 'images', `${imageId}.png`), bytes);
        manifest.images[imageId] = {
          file: `${imageId}.png`,
          sha256: shas.get(bytes) ?? '',
          bytes: bytes.length,
          width: imageId === 'scene' ? 16 : 12,
          height: imageId === 'scene' ? 9 : 16,
          mimeType: 'image/png',
          provider: 'gemini',
          model: 'gemini-2.5-flash-image',
          promptHash: buildPrompt(data, imageId).promptHash,
          generatedAt: '2025-01-19T10:00:00Z',
          batchId: 'batch-2025-01-19-001',
          attempts: 1,
          costUsd: 0.039,
          mode: 'sync',
          quality: [],
          review: { status: 'approved', by: 'bench', at: null, pullRequest: 1, feedback: null },
        };
      }
      await writeFile(join(dir, 'case.json'), JSON.stringify(data, null, 2));
      await writeFile(join(dir, 'images', 'manifest.json'), JSON.stringify(manifest, null, 2));
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/** Whether `root` already holds a tree built by an earlier `--root` run. */
async function hasTree(root: string): Promise<boolean> {
  try {
    return (await readdir(join(root, 'cases'))).length > 0;
  } catch {
    return false;
  }
}

/**
 * Time of a full scanAll over 10,000 generated cases (40,000 images); the target is under 2 s.
 * With `keepRoot` the tree is built there once and kept, so later runs (and `--cpu-prof`) time
 * the scan alone: `npx tsx bench/scan.bench.ts --root /tmp/lineup-scan-tree [--runs N]`.
 */
export async function benchScan(
  cases = 10_000,
  options: { keepRoot?: string; runs?: number } = {},
): Promise<string[]> {
  const { keepRoot, runs = 2 } = options;
  const root = keepRoot ?? (await mkdtemp(join(tmpdir(), 'lineup-bench-scan-')));
  try {
    const lines: string[] = [];
    if (keepRoot && (await hasTree(keepRoot))) {
      lines.push(`scan bench: reusing the tree in ${keepRoot}`);
    } else {
      const setupStart = performance.now();
      await buildRepo(root, cases);
      lines.push(
        `scan bench setup (writing the cases): ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
      );
    }
    // The first scan also pays for JIT and a cold page cache of the just-written tree; both are reported.
    for (let run = 1; run <= runs; run++) {
      const name = run === 1 ? 'first' : run === 2 ? 'second' : `#${run}`;
      const start = performance.now();
      const report = await scanAll(root);
      const ms = performance.now() - start;
      const flagged = report.images.filter((i) => i.findings.length > 0).length;
      lines.push(
        `scan ${name} run: ${report.cases} cases, ${report.images.length} images in ${(ms / 1000).toFixed(2)} s ` +
          `(${flagged} flagged, ${report.problems.length} case problems)${ms < 2000 ? '' : ' - over the 2 s target'}`,
      );
    }
    return lines;
  } finally {
    if (!keepRoot) await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { root: { type: 'string' }, runs: { type: 'string' } } });
  const runs = values.runs === undefined ? 2 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const options = values.root === undefined ? { runs } : { keepRoot: values.root, runs };
  for (const line of await benchScan(10_000, options)) console.log(line);
}
