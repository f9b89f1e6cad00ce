import { assertCaseId } from '../cases/ids.ts';
import { ExitCode, InputError } from '../errors.ts';
import { validateCaseImages } from '../quality/case-quality.ts';
import { formatTable } from '../scan/table.ts';
import type { Output } from './terminal-reporter.ts';

export interface ValidateImageQualityArgs {
  caseId?: string;
  json?: boolean;
}

/** Exit 0 when every image of the case passes, 1 with a table of what failed, 2 for a bad case id. */
export async function validateImageQuality(
  root: string,
  args: ValidateImageQualityArgs,
  output: Output,
): Promise<number> {
  if (!args.caseId) throw new InputError('--case-id is required', { field: '--case-id' });
  const report = await validateCaseImages(root, assertCaseId(args.caseId));
  const code = report.failures.length ? ExitCode.someFailed : ExitCode.ok;
  if (args.json) {
    output.out(JSON.stringify({ ...report, exitCode: code }, null, 2));
    return code;
  }
  if (report.failures.length === 0) {
    output.out(`${report.caseId}: all ${report.checked} image(s) pass the quality checks.`);
    return code;
  }
  output.out(
    formatTable(
      ['image', 'file', 'check', 'detail'],
      report.failures.map((f) => [f.imageId, f.file ?? '-', f.check, f.detail]),
    ),
  );
  const images = new Set(report.failures.map((f) => f.imageId)).size;
  output.out(
    `\n${report.caseId}: ${images} image(s) failed ${report.failures.length} check(s). Regenerate with: npx tsx scripts/batch-generate-images.ts --case-id ${report.caseId} --force`,
  );
  return code;
}
