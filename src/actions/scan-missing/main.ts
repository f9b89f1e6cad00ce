import { isAbsolute, join, relative, resolve } from 'node:path';
import * as core from '@actions/core';
import { assertCaseId } from '../../cases/ids.ts';
import { InputError } from '../../errors.ts';
import { escapeCell } from '../../github/gallery.ts';
import { writeJobSummary } from '../../github/summary.ts';
import { writeBatchFile } from '../../scan/export.ts';
import { imagesToGenerate, needsGeneration, scanAll } from '../../scan/scan.ts';
import { booleanInput, failureMessage, optionalInput, workspace } from '../inputs.ts';

/** Where the export goes unless `export-path` says otherwise; under reports/, which is never committed by a scan. */
export const DEFAULT_EXPORT = join('reports', 'missing-images.json');

async function scan(): Promise<void> {
  const root = workspace();
  const caseId = optionalInput('case-id');
  const all = booleanInput('scan-all', false);
  if (Boolean(caseId) === all) {
    throw new InputError('give exactly one of case-id or scan-all: true', { field: 'inputs' });
  }
  const exportPath = optionalInput('export-path') ?? DEFAULT_EXPORT;
  const file = isAbsolute(exportPath) ? exportPath : resolve(root, exportPath);

  const report = await scanAll(root, caseId ? { caseIds: [assertCaseId(caseId)] } : {});
  // A single named case that cannot be read is bad input, not a finding to shrug off.
  if (caseId && report.problems.length > 0) throw new InputError(report.problems[0]?.message ?? 'unreadable');
  for (const p of report.problems) {
    core.warning(p.message, { title: `${p.caseId} cannot be scanned`, file: `cases/${p.caseId}/case.json` });
  }
  const images = imagesToGenerate(report);
  const written = await writeBatchFile(file, images);
  const matrix = [...new Set(images.map((i) => i.caseId))];

  core.setOutput('missing-count', String(images.length));
  core.setOutput('report-path', relative(root, file).startsWith('..') ? file : relative(root, file));
  core.setOutput('matrix', JSON.stringify(matrix));

  const todo = report.images.filter(needsGeneration);
  core.info(
    `${report.cases} case(s) scanned: ${images.length} image(s) to generate in ${matrix.length} case(s)` +
      (report.problems.length ? `, ${report.problems.length} case(s) unreadable` : ''),
  );
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
      `${report.cases} case(s) scanned; ${images.length} image(s) to generate in ${matrix.length} case(s).`,
      '',
      ...(rows.length ? ['| Case | Image | Findings |', '|---|---|---|', ...rows, ''] : []),
      ...report.problems.map((p) => `- ⚠️ ${escapeCell(p.caseId)}: ${escapeCell(p.message)}`),
      '',
    ].join('\n'),
  );
}

export async function run(): Promise<void> {
  try {
    await scan();
  } catch (error) {
    core.setFailed(failureMessage(error, []));
  }
}
