import { isAbsolute, resolve } from 'node:path';
import { assertCaseId } from '../cases/ids.ts';
import { ExitCode, InputError } from '../errors.ts';
import type { PlannedImage } from '../images/types.ts';
import { type ChosenRun, type PreparedRun, prepareRun } from '../run/prepare-run.ts';
import { MAX_EXPORT_IMAGES, writeBatchFile } from '../scan/export.ts';
import {
  type ImageStatus,
  imagesToGenerate,
  needsGeneration,
  REGENERATE_KINDS,
  type ScanReport,
  scanAll,
  scanCase,
} from '../scan/scan.ts';
import { formatTable } from '../scan/table.ts';
import { runSummaryLines } from './run-summary.ts';
import { type Output, terminalEvents } from './terminal-reporter.ts';

export interface ScanArgs {
  scanAll?: boolean;
  caseId?: string;
  fix?: boolean;
  export?: string;
  /** Exit 1 when anything needs generating (for CI gates); otherwise a scan alone exits 0. */
  check?: boolean;
  json?: boolean;
  provider?: string;
  model?: string;
  config?: string;
  apiBaseUrl?: string;
  maxCost?: number;
}

async function runScan(root: string, args: ScanArgs): Promise<ScanReport> {
  if (Boolean(args.scanAll) === Boolean(args.caseId)) {
    throw new InputError('give exactly one of --scan-all or --case-id (see --help)', { field: 'arguments' });
  }
  if (args.scanAll) return scanAll(root);
  // A single named case that cannot be read is bad input (exit 2), not a finding.
  const images = await scanCase(root, assertCaseId(args.caseId ?? ''));
  return { cases: 1, images, problems: [] };
}

function summarize(report: ScanReport): string {
  const counts = new Map<string, number>();
  for (const image of report.images) for (const f of image.findings) counts.set(f, (counts.get(f) ?? 0) + 1);
  const toGenerate = report.images.filter(needsGeneration).length;
  const parts = [...counts].map(([kind, n]) => `${kind} ${n}`);
  return (
    `${report.cases} case(s), ${report.images.length} image(s): ${toGenerate} to generate` +
    (parts.length ? ` (${parts.join(', ')})` : '') +
    (report.problems.length ? `; ${report.problems.length} case(s) could not be scanned` : '')
  );
}

function scanTable(images: readonly ImageStatus[]): string {
  return formatTable(
    ['case', 'image', 'findings', 'action', 'detail'],
    images
      .filter((i) => i.findings.length > 0)
      .map((i) => [
        i.caseId,
        i.file ?? i.imageId,
        i.findings.join(', '),
        needsGeneration(i) ? 'generate' : i.findings.includes('awaiting-review') ? 'review' : 'check',
        i.details.join('; '),
      ]),
  );
}

/** Where `--export` wrote, and how many images; null without `--export`. */
type Exported = { file: string; images: number } | null;

/** `--export`: the images to generate as a batch file, and a line saying how to use it. */
async function exportFindings(
  root: string,
  file: string,
  images: PlannedImage[],
  say: (line: string) => void,
  output: Output,
): Promise<Exported> {
  const written = await writeBatchFile(isAbsolute(file) ? file : resolve(root, file), images);
  if (images.length > MAX_EXPORT_IMAGES) {
    output.err(
      `warning: a batch file holds at most ${MAX_EXPORT_IMAGES} images; exported the first ${MAX_EXPORT_IMAGES} of ${images.length}, scan again after generating them`,
    );
  }
  say(
    written
      ? `Exported ${written} image(s) to ${file}; generate them with: npx tsx scripts/batch-generate-images.ts --batch-file ${file} --force`
      : `Exported an empty list to ${file}: nothing to generate.`,
  );
  return { file, images: written };
}

/** What one invocation has found and says: the scan, its export, and the two ways to print. */
interface ScanOutcome {
  report: ScanReport;
  images: PlannedImage[];
  /** 1 when a case could not be scanned, else 0: the floor of every exit code. */
  problemsCode: number;
  /** A line for people (nothing with --json). */
  say: (line: string) => void;
  /** With --json, the one document on stdout; the scan's fields plus `extra`. */
  json: (extra: Record<string, unknown>, exitCode: number) => void;
}

async function scanAndReport(root: string, args: ScanArgs, output: Output): Promise<ScanOutcome> {
  const report = await runScan(root, args);
  const images = imagesToGenerate(report);
  const say = args.json ? () => {} : output.out;
  if (report.images.some((i) => i.findings.length > 0)) say(scanTable(report.images));
  for (const p of report.problems) output.err(`error: ${p.message}`);
  say(summarize(report));
  const exported = args.export ? await exportFindings(root, args.export, images, say, output) : null;
  const json = (extra: Record<string, unknown>, exitCode: number) => {
    if (!args.json) return;
    const document = {
      cases: report.cases,
      images: report.images.length,
      toGenerate: images,
      findings: report.images.filter((i) => i.findings.length > 0),
      problems: report.problems,
      ...(exported ? { exported } : {}),
      ...extra,
      exitCode,
    };
    output.out(JSON.stringify(document, null, 2));
  };
  const problemsCode = report.problems.length ? ExitCode.someFailed : ExitCode.ok;
  return { report, images, problemsCode, say, json };
}

/** After `--fix`: what a second scan of the fixed cases still lists, and why (placeholders, jobs). */
async function sayWhatIsLeft(root: string, scan: ScanOutcome, run: ChosenRun): Promise<number> {
  const fixedCases = [...new Set(scan.images.map((i) => i.caseId))];
  const after = await scanAll(root, { caseIds: fixedCases });
  const left = after.images.filter((i) => i.findings.some((f) => REGENERATE_KINDS.has(f)));
  if (!left.length) {
    scan.say('Scan after the fix: nothing left to generate (new images await review).');
    return 0;
  }
  // Placeholders are still "to generate" by design: say so, rather than let a clean-looking run mislead.
  const placeholders = left.filter((i) => i.findings.includes('placeholder')).length;
  const waiting = run.source?.kind === 'images' ? scan.images.length - run.source.images.length : 0;
  const notes = [
    ...(placeholders ? [`${placeholders} placeholder(s): set GEMINI_API_KEY for real images`] : []),
    ...(waiting ? [`${waiting} waiting in Batch API jobs`] : []),
  ];
  scan.say(
    `${left.length} image(s) still to generate after the fix${notes.length ? ` (${notes.join('; ')})` : ''}`,
  );
  return left.length;
}

/** `--fix`: the scan's findings as one resumable batch, then a second scan. */
async function fix(
  root: string,
  args: ScanArgs,
  setup: PreparedRun,
  scan: ScanOutcome,
  io: { output: Output; held: string[]; signal: AbortSignal | undefined },
): Promise<number> {
  const { images, problemsCode, say, json } = scan;
  if (images.length === 0) {
    say('Nothing to generate.');
    json({ batchId: null }, problemsCode);
    return problemsCode;
  }
  // The scan's findings (force: their files must be replaced), less those waiting in a Batch API job.
  const run = await setup.choose({ scanAll: args.scanAll, caseId: args.caseId, fix: true, found: images });
  for (const message of io.held) io.output.err(message);
  const events = terminalEvents(io.output, args.json ?? false);
  const result = await run.run({ events, signal: io.signal });
  if (result.batchId === null) {
    say('Nothing to generate now: the images are waiting in Batch API jobs.');
    json({ batchId: null }, problemsCode);
    return problemsCode;
  }
  const code = Math.max(result.exitCode, problemsCode);
  for (const line of runSummaryLines(result)) say(line);
  const left = await sayWhatIsLeft(root, scan, run);
  json({ batchId: result.batchId, batch: result, leftToGenerate: left }, code);
  return code;
}

/**
 * regenerate-missing-images: scan, print, optionally export the images to generate as a batch
 * file and/or generate them as one resumable batch.
 *
 * Exit codes: a scan or export alone is 0 (its report is the result; `--check` makes it 1 when
 * anything needs generating); with --fix the batch's own code (0, 1 failures, 3 stopped early);
 * 1 when a case could not be scanned with --scan-all; 2 for bad input.
 */
export async function regenerateMissing(
  root: string,
  args: ScanArgs,
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<number> {
  // Config and provider errors surface before any scan output, so a typo in a flag never half-runs.
  // Warnings (no key, images in flight) wait until the fix really runs.
  const held: string[] = [];
  const setup = args.fix
    ? await prepareRun(root, args, {
        apiKey: env.GEMINI_API_KEY?.trim() || undefined,
        allowFallback: true,
        warn: (message) => held.push(message),
      })
    : null;
  const scan = await scanAndReport(root, args, output);
  if (setup) return fix(root, args, setup, scan, { output, held, signal });
  const { images, problemsCode } = scan;
  const code = Math.max(problemsCode, args.check && images.length ? ExitCode.someFailed : ExitCode.ok);
  scan.json({}, code);
  return code;
}
