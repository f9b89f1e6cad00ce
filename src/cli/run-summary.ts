import { resumeCommand } from '../batch/progress.ts';
import type { BatchSummary } from '../batch/types.ts';
import { displayPath } from '../util/read-json.ts';

/** The lines a terminal shows after a batch: outcome, report, and how to carry on. */
export function runSummaryLines(result: BatchSummary): string[] {
  const lines = [
    `${result.batchId}: ${result.successful}/${result.total} done, ${result.failed} failed, ${result.pending} pending, $${result.costUsd.toFixed(3)}` +
      (result.stopReason ? ` (stopped: ${result.stopReason})` : ''),
    `Report: ${displayPath(result.errorReportFile)}`,
  ];
  const resume = resumeCommand(result.batchId);
  if (result.status === 'submitted') {
    lines.push(`Submitted to the Gemini Batch API (results usually within 24 h). Collect with: ${resume}`);
  } else if (result.exitCode !== 0) {
    lines.push(`Resume: ${resume}`);
  }
  return lines;
}
