import { isAbsolute, join, relative, resolve } from 'node:path';
import * as core from '@actions/core';
import { assertCaseId } from '../../cases/ids.ts';
import { InputError } from '../../errors.ts';
import { escapeCell } from '../../github/gallery.ts';
import { writeJobSummary } from '../../github/summary.ts';
import { writeBatchFile } from '../../scan/export.ts';
import { imagesToGenerate, needsGeneration, type ScanReport, scanAll } from '../../scan/scan.ts';
import { workspace } from '../inputs.ts';

/** Where the export goes unless `export-path` says otherwise; under reports/, which is never committed by a scan. */
const DEFAULT_EXPORT = join('reports', 'missing-images.json');

/** Cases in the `matrix` output unless `max-cases` says otherwise; the rest wait for the next run. */
export const DEFAULT_MAX_CASES = 100;
/** GitHub refuses a matrix of more than 256 jobs, failing the whole workflow. */
export const GITHUB_MATRIX_LIMIT = 256;
/** Cases per matrix entry unless `cases-per-job` says otherwise (see README, "A backfill in a handful of jobs"). */
export const DEFAULT_CASES_PER_JOB = 10;

/**
 * The matrix entries: the cases in order, `size` to an entry, each entry one string of case ids
 * separated by spaces (what batch-generate's `case-ids` reads; with size 1, a plain case id as
 * before). Consecutive ids, so a job's cases are neighbouring dates.
 */
export function groupCases(caseIds: readonly string[], size: number): string[] {
  const groups: string[] = [];
  for (let at = 0; at < caseIds.length; at += size) groups.push(caseIds.slice(at, at + size).join(' '));
  return groups;
}

export interface ScanInputs {
  caseId: string | undefined;
  scanAll: boolean;
  maxCases: number;
  casesPerJob: number;
  exportPath: string | undefined;
}

/** What the scan found and what this run's matrix takes of it. */
interface Found {
  report: ScanReport;
  images: ReturnType<typeof imagesToGenerate>;
  withWork: string[];
  matrix: string[];
  deferred: string[];
}

/** Scans, writes the export, and sets the outputs the nightly's matrix is built from. */
export async function scanForMatrix(inputs: ScanInputs): Promise<void> {
  const root = workspace();
  const { caseId, maxCases, casesPerJob } = inputs;
  if (Boolean(caseId) === inputs.scanAll) {
    throw new InputError('give exactly one of case-id or scan-all: true', { field: 'inputs' });
  }
  const exportPath = inputs.exportPath ?? DEFAULT_EXPORT;
  const file = isAbsolute(exportPath) ? exportPath : resolve(root, exportPath);

  const report = await scanAll(root, caseId ? { caseIds: [assertCaseId(caseId)] } : {});
  // A single named case that cannot be read is bad input, not a finding to shrug off.
  if (caseId && report.problems.length > 0) throw new InputError(report.problems[0]?.message ?? 'unreadable');
  for (const p of report.problems) {
    core.warning(p.message, { title: `${p.caseId} cannot be scanned`, file: `cases/${p.caseId}/case.json` });
  }
  const images = imagesToGenerate(report);
  const written = await writeBatchFile(file, images);
  const withWork = [...new Set(images.map((i) => i.caseId))];
  // The first max-cases cases, in case-id order (the oldest dates first); the rest wait for the next run.
  const found: Found = {
    report,
    images,
    withWork,
    matrix: withWork.slice(0, maxCases),
    deferred: withWork.slice(maxCases),
  };

  // missing-count is every image found, deferred cases' included: the work that remains, not this run's share.
  core.setOutput('missing-count', String(images.length));
  core.setOutput('report-path', relative(root, file).startsWith('..') ? file : relative(root, file));
  core.setOutput('matrix', JSON.stringify(groupCases(found.matrix, casesPerJob)));
  core.setOutput('case-count', String(found.matrix.length));
  core.setOutput('deferred-cases', String(found.deferred.length));
  await reportScan(found, inputs, written);
}

/** The log lines, the warnings and the job summary of a scan. */
async function reportScan(found: Found, inputs: ScanInputs, written: number): Promise<void> {
  const { report, images, withWork, matrix, deferred } = found;
  const { maxCases, casesPerJob } = inputs;
  const todo = report.images.filter(needsGeneration);
  core.info(
    `${report.cases} case(s) scanned: ${images.length} image(s) to generate in ${withWork.length} case(s); ` +
      `the matrix holds ${matrix.length} of them in ${Math.ceil(matrix.length / casesPerJob)} job(s) of up to ${casesPerJob}` +
      (report.problems.length ? `, ${report.problems.length} case(s) unreadable` : ''),
  );
  const deferredNote = deferred.length
    ? `The matrix holds the first ${matrix.length} of ${withWork.length} cases (max-cases ${maxCases}); ` +
      `${deferred.length} case(s) (${deferred[0]} to ${deferred.at(-1)}) are left for the next run.`
    : '';
  if (deferredNote) core.warning(deferredNote, { title: 'Matrix capped' });
  for (const i of todo) core.info(`  ${i.caseId}/${i.imageId}: ${i.findings.join(', ')}`);
  if (written < images.length) {
    core.warning(`The export holds the first ${written} of ${images.length} images (the batch-file limit).`);
  }
  const rows = todo.map(
    (i) => `| ${escapeCell(i.caseId)} | ${escapeCell(i.imageId)} | ${escapeCell(i.findings.join(', '))} |`,
  );
  await writeJobSummary(
    [
      '## lineup scan',
      '',
      `${report.cases} case(s) scanned; ${images.length} image(s) to generate in ${withWork.length} case(s).`,
      '',
      ...(deferredNote ? [deferredNote, ''] : []),
      ...(rows.length ? ['| Case | Image | Findings |', '|---|---|---|', ...rows, ''] : []),
      ...report.problems.map((p) => `- ⚠️ ${escapeCell(p.caseId)}: ${escapeCell(p.message)}`),
      '',
    ].join('\n'),
  );
}
