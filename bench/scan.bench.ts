import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import type { Case, Manifest } from '../src/cases/schema.ts';
import { DEFAULT_IMAGE_MODEL, imagePrice } from '../src/config/pricing.ts';
import { buildPrompt } from '../src/prompts/index.ts';
import { type ScanReport, scanAll } from '../src/scan/scan.ts';
import { median } from './median.ts';

/** The default image model's price at 1K (src/config/pricing.ts), as a real run pays it. */
const PRICE = imagePrice(DEFAULT_IMAGE_MODEL) ?? 0;

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

/**
 * Images of a settled repository: written a while before the manifest's last write, as after a
 * batch that finished earlier (file times move in coarse steps, so an image written in the same
 * step as its manifest is "racily clean" and read anyway; see isTrusted in src/scan/scan.ts).
 */
const IMAGE_TIME = new Date(Date.UTC(2025, 0, 19, 10));

/**
 * Writes `count` cases of 4 images each with manifests that stamp every image's size and mtime as
 * saveImage does; a few images are missing so the scan has findings.
 */
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
        const file = join(dir, 'images', `${imageId}.png`);
        let mtimeMs: number | undefined;
        if ((i * 4 + imageId.length) % 97 !== 0) {
          await writeFile(file, bytes);
          await utimes(file, IMAGE_TIME, IMAGE_TIME);
          mtimeMs = (await stat(file)).mtimeMs;
        }
        manifest.images[imageId] = {
          file: `${imageId}.png`,
          sha256: shas.get(bytes) ?? '',
          bytes: bytes.length,
          ...(mtimeMs === undefined ? {} : { mtimeMs }),
          width: imageId === 'scene' ? 16 : 12,
          height: imageId === 'scene' ? 9 : 16,
          mimeType: 'image/png',
          provider: 'gemini',
          model: DEFAULT_IMAGE_MODEL,
          promptHash: buildPrompt(data, imageId).promptHash,
          generatedAt: '2025-01-19T10:00:00Z',
          batchId: 'batch-2025-01-19-001',
          attempts: 1,
          costUsd: PRICE,
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

/** The image names every bench case has (3 suspects and the scene, all PNG). */
const IMAGE_FILES = ['suspect-1.png', 'suspect-2.png', 'suspect-3.png', 'scene.png'];

/**
 * The floor: what any scan must do at least. Read every case.json and manifest.json and stat
 * every image, nothing else: no parsing, no validation, no hashing (the image names come from the
 * bench's own layout), synchronously as the scan does. Returns the number of images found, so the
 * work cannot be optimised away.
 */
function floor(root: string): number {
  const dir = join(root, 'cases');
  let found = 0;
  for (const id of readdirSync(dir).sort()) {
    readFileSync(`${dir}/${id}/case.json`, 'utf8');
    readFileSync(`${dir}/${id}/images/manifest.json`, 'utf8');
    for (const file of IMAGE_FILES) {
      if (statSync(`${dir}/${id}/images/${file}`, { throwIfNoEntry: false })) found += 1;
    }
  }
  return found;
}

/** Sets every bench image's mtime, as a checkout (now) or back to the stamps (IMAGE_TIME) would. */
function setImageTimes(root: string, time: Date): void {
  const dir = join(root, 'cases');
  for (const id of readdirSync(dir)) {
    for (const file of IMAGE_FILES) {
      try {
        utimesSync(`${dir}/${id}/images/${file}`, time, time);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

interface Timing<T> {
  value: T;
  /** Wall time. */
  ms: number;
  /** CPU time of this process (user + system): steadier than wall time on a shared machine. */
  cpuMs: number;
}

async function timed<T>(run: () => T | Promise<T>): Promise<Timing<T>> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await run();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { value, ms, cpuMs: (used.user + used.system) / 1000 };
}

interface Ratio {
  wall: number;
  cpu: number;
}

function ratioOf(scan: Timing<unknown>, base: Timing<unknown>): Ratio {
  return { wall: scan.ms / base.ms, cpu: scan.cpuMs / base.cpuMs };
}

function ratios(scan: Timing<unknown>, base: Timing<unknown>): string {
  const { wall, cpu } = ratioOf(scan, base);
  return (
    `scan/floor ${wall.toFixed(2)}x (CPU time ${cpu.toFixed(2)}x)` +
    `${wall <= 1.5 ? '' : ' - over the 1.5x target'}${scan.ms < 1000 ? '' : ' - over 1 s'}`
  );
}

/** The ways the bench scans, each against the floor of its own round. */
const MODES = [
  'from the index (an unchanged tree scanned again)',
  'no index, stamps trusted',
  'no index, writing one',
  'a fresh checkout, as in CI (no stamp matches, no index)',
  'a fresh clone scanned again (no stamp matches; from the index)',
] as const;
type Mode = (typeof MODES)[number];

interface Round {
  lines: string[];
  ratios: Record<Mode, Ratio>;
}

/**
 * One round: the floor; the scan trusting stamped images without an index (the first local scan,
 * or LINEUP_SCAN_INDEX=0), then with none yet (it writes one), then with it; and the scan of a
 * fresh checkout: every image has a new mtime there, so no stamp matches and each is read, and CI
 * keeps no index; then, in that checkout, a local scan that writes the index and one that uses it
 * (a clone scanned a second time).
 */
async function round(root: string, name: string): Promise<Round> {
  const base = await timed(() => floor(root));
  // Where a checkout keeps it (the bench tree is no git checkout, so it is named here).
  const index = join(root, '.git', 'lineup', 'scan-index.json');
  // The tree was just written; scanned a minute later, as a tree at rest is, every case is
  // recorded (the index skips files changed in the seconds before a scan).
  const clock = { now: () => Date.now() + 60_000 };
  await rm(index, { force: true });
  const stamps = await timed(() => scanAll(root, { index: false }));
  const writing = await timed(() => scanAll(root, { index, clock }));
  const warm = await timed(() => scanAll(root, { index, clock }));
  // A fresh checkout: every image has a new mtime, so no stamp matches; then back as it was.
  setImageTimes(root, new Date());
  const full = await timed(() => scanAll(root, { index: false }));
  await rm(index, { force: true });
  await scanAll(root, { index, clock });
  const clone = await timed(() => scanAll(root, { index, clock }));
  setImageTimes(root, IMAGE_TIME);
  const runs: Record<Mode, Timing<ScanReport>> = {
    [MODES[0]]: warm,
    [MODES[1]]: stamps,
    [MODES[2]]: writing,
    [MODES[3]]: full,
    [MODES[4]]: clone,
  };
  const lines = [
    `${name} run: floor (read case.json + manifest, stat ${base.value} images) ${seconds(base.ms)}`,
  ];
  for (const mode of MODES) {
    const { value: report, ms } = runs[mode];
    const flagged = report.images.filter((i) => i.findings.length > 0).length;
    lines.push(
      `${name} run: scan ${mode}: ${report.cases} cases, ${report.images.length} images in ${seconds(ms)} ` +
        `(${flagged} flagged, ${report.problems.length} case problems): ${ratios(runs[mode], base)}`,
    );
  }
  const out = {} as Record<Mode, Ratio>;
  for (const mode of MODES) out[mode] = ratioOf(runs[mode], base);
  return { lines, ratios: out };
}

/** The medians over the rounds: the figures the README quotes (the machine is shared and noisy). */
function summary(rounds: Round[]): string[] {
  return MODES.map((mode) => {
    const cpu = median(rounds.map((r) => r.ratios[mode].cpu));
    const wall = median(rounds.map((r) => r.ratios[mode].wall));
    return `median of ${rounds.length} runs, scan ${mode}: scan/floor CPU time ${cpu.toFixed(2)}x, wall ${wall.toFixed(2)}x`;
  });
}

/**
 * The scan over 10,000 generated cases (40,000 images) against the floor measured in the same
 * run, as a ratio; the target is 1.5x the floor, and under 1 s. With `keepRoot` the tree is built
 * there once and kept, so later runs (and `--cpu-prof`) time the scan alone:
 * `npx tsx bench/scan.bench.ts --root /tmp/lineup-scan-tree [--runs N]`.
 */
export async function benchScan(
  cases = 10_000,
  options: { keepRoot?: string; runs?: number } = {},
): Promise<string[]> {
  const { keepRoot, runs = 5 } = options;
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
    // The first round also pays for JIT and a colder page cache; every round is reported.
    const rounds: Round[] = [];
    for (let run = 1; run <= runs; run++) {
      const r = await round(root, run === 1 ? 'first' : run === 2 ? 'second' : `#${run}`);
      rounds.push(r);
      lines.push(...r.lines);
    }
    lines.push(...summary(rounds));
    return lines;
  } finally {
    if (!keepRoot) await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { root: { type: 'string' }, runs: { type: 'string' } } });
  const runs = values.runs === undefined ? 5 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const options = values.root === undefined ? { runs } : { keepRoot: values.root, runs };
  for (const line of await benchScan(10_000, options)) console.log(line);
}
