import { z } from 'zod';
import { InputError } from '../../errors.ts';
import { input, parseInputs, runFace } from '../inputs.ts';
import { DEFAULT_CASES_PER_JOB, DEFAULT_MAX_CASES, GITHUB_MATRIX_LIMIT, scanForMatrix } from './matrix.ts';

/** A whole number from 1 to GitHub's matrix limit, or `fallback` when empty. */
function upToMatrixLimit(name: string, fallback: number, limitNote: string) {
  return input.custom((value) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > GITHUB_MATRIX_LIMIT) {
      throw new InputError(
        `${JSON.stringify(value)} is not a whole number from 1 to ${GITHUB_MATRIX_LIMIT}${limitNote}`,
        { field: name },
      );
    }
    return n;
  });
}

/** scan-missing's inputs as action.yml names them. */
const schema = z.object({
  'case-id': input.text(),
  'scan-all': input.boolean('scan-all', false),
  'max-cases': upToMatrixLimit('max-cases', DEFAULT_MAX_CASES, " (GitHub's matrix limit)"),
  'cases-per-job': upToMatrixLimit('cases-per-job', DEFAULT_CASES_PER_JOB, ''),
  'export-path': input.text(),
});

/** The scan-missing action: reads its inputs once, scans, and reports the matrix and the export. */
export async function run(): Promise<void> {
  await runFace([], async () => {
    const i = parseInputs(schema);
    await scanForMatrix({
      caseId: i['case-id'],
      scanAll: i['scan-all'],
      maxCases: i['max-cases'],
      casesPerJob: i['cases-per-job'],
      exportPath: i['export-path'],
    });
  });
}
