import { assertCaseId } from '../cases/ids.ts';
import type { VisionVerdict } from '../cases/provenance.ts';
import { loadConfig } from '../config/load-config.ts';
import type { Config } from '../config/schema.ts';
import { ExitCode, InputError } from '../errors.ts';
import { type CaseVerdicts, judgeCaseImages } from '../qa/judge-case.ts';
import { validateCaseImages } from '../quality/case-quality.ts';
import { formatTable } from '../scan/table.ts';
import type { Output } from './terminal-reporter.ts';

export interface ValidateImageQualityArgs {
  caseId?: string;
  json?: boolean;
}

/** What the vision judge needs; without a key it is skipped with a note. */
export interface VisionDeps {
  apiKey?: string | undefined;
  config?: Config;
}

/** Exit 0 when every image of the case passes, 1 with a table of what failed, 2 for a bad case id. */
export async function validateImageQuality(
  root: string,
  args: ValidateImageQualityArgs,
  output: Output,
  deps: VisionDeps = {},
): Promise<number> {
  if (!args.caseId) throw new InputError('--case-id is required', { field: '--case-id' });
  const report = await validateCaseImages(root, assertCaseId(args.caseId));
  const code = report.failures.length ? ExitCode.someFailed : ExitCode.ok;
  // The judge's verdicts are flags for the reviewer: they are printed and recorded, not an exit code.
  const vision = await judgeCaseImages({
    root,
    caseId: report.caseId,
    config: deps.config ?? (await loadConfig(root)),
    apiKey: deps.apiKey,
    failedPixelChecks: new Set(report.failures.map((f) => f.imageId)),
  });
  if (args.json) {
    output.out(JSON.stringify({ ...report, vision, exitCode: code }, null, 2));
    return code;
  }
  printVision(vision, output);
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

/** One row of the vision table: the verdict's status, score, and its reason or issues. */
function verdictRow(label: string, verdict: VisionVerdict): string[] {
  const issues = verdict.issues.map((i) => `${i.check}: ${i.detail}`).join('; ');
  return [label, verdict.status, verdict.score?.toFixed(2) ?? '-', verdict.reason ?? (issues || '-')];
}

function printVision(vision: CaseVerdicts, output: Output): void {
  if (vision.skipped) {
    output.out(`Vision QA skipped: ${vision.skipped}.`);
    return;
  }
  const rows = vision.images.map(({ imageId, verdict }) => verdictRow(imageId, verdict));
  if (vision.lineup) rows.push(verdictRow('lineup', vision.lineup));
  output.out(formatTable(['image', 'vision', 'score', 'issues'], rows));
}
