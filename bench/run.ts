import { access } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchBackfill } from './backfill.bench.ts';
import { benchCancel } from './cancel.bench.ts';
import { benchEngine } from './engine.bench.ts';
import { benchGeminiOverhead } from './gemini.bench.ts';
import { benchLimiter } from './limiter.bench.ts';
import { benchPlaceholder } from './placeholder.bench.ts';
import { benchVision } from './vision.bench.ts';

/**
 * `npm run bench`: every bench in turn, each under its own heading, with its running time.
 * `npm run bench -- limiter scan`: only the sections whose title contains one of the words.
 */

type Section = { title: string; run: () => Promise<string[]> };

/** The scan bench is optional: loaded by path so a tree without it still type-checks and runs. */
async function scanSection(): Promise<Section> {
  const title = 'scan (bench/scan.bench.ts)';
  const file = fileURLToPath(new URL('./scan.bench.ts', import.meta.url));
  try {
    await access(file);
  } catch {
    return { title, run: async () => ['skipped: bench/scan.bench.ts does not exist'] };
  }
  const mod = (await import(pathToFileURL(file).href)) as { benchScan?: () => Promise<string[]> };
  const benchScan = mod.benchScan;
  if (typeof benchScan !== 'function') {
    return { title, run: async () => ['skipped: bench/scan.bench.ts exports no benchScan()'] };
  }
  return { title, run: () => benchScan() };
}

const sections: Section[] = [
  { title: 'placeholder provider (bench/placeholder.bench.ts)', run: () => benchPlaceholder() },
  { title: 'gemini provider overhead (bench/gemini.bench.ts)', run: () => benchGeminiOverhead() },
  { title: 'backfill of 100 cases in groups (bench/backfill.bench.ts)', run: () => benchBackfill() },
  { title: 'batch engine under a rate limit (bench/engine.bench.ts)', run: () => benchEngine() },
  { title: 'limiter and breaker (bench/limiter.bench.ts)', run: () => benchLimiter() },
  await scanSection(),
  { title: 'cancelled action: SIGINT to pushed commit (bench/cancel.bench.ts)', run: () => benchCancel() },
  { title: 'vision judge, added cost and time per image (bench/vision.bench.ts)', run: () => benchVision() },
];

const wanted = process.argv.slice(2).map((w) => w.toLowerCase());
const chosen = sections.filter(
  (s) => !wanted.length || wanted.some((w) => s.title.toLowerCase().includes(w)),
);
if (!chosen.length) console.log(`no bench section matches ${wanted.join(', ')}`);

const started = performance.now();
let failed = 0;
for (const section of chosen) {
  console.log(`\n== ${section.title}`);
  const t = performance.now();
  try {
    for (const line of await section.run()) console.log(line);
  } catch (error) {
    failed += 1;
    console.log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  console.log(`(${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
console.log(
  `\nbench done in ${((performance.now() - started) / 1000).toFixed(1)} s${failed ? `, ${failed} section(s) failed` : ''}`,
);
if (failed) process.exitCode = 1;
