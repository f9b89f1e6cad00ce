import * as core from '@actions/core';
import type { FailureRecord } from '../batch/types.ts';
import { checklistLine } from '../qa/display.ts';
import type { GalleryImage } from './gallery.ts';

/**
 * Appends markdown to the job summary. Returns false (and writes nothing) outside a runner, where
 * GITHUB_STEP_SUMMARY is unset, so the same code path works from a terminal.
 */
export async function writeJobSummary(markdown: string): Promise<boolean> {
  if (!process.env.GITHUB_STEP_SUMMARY) return false;
  await core.summary.addRaw(markdown, true).write();
  core.summary.emptyBuffer();
  return true;
}

/** What an annotation says about one failed image. */
function describeFailure(f: FailureRecord): { title: string; message: string; file: string } {
  const imageId = f.suspectId ?? 'scene';
  const retry = f.recoverable
    ? 'recoverable: rerun or --resume to retry'
    : 'not recoverable without a change';
  return {
    title: `${f.caseId}/${imageId}: ${f.errorType}`,
    // Annotations are one line in the UI; the error text may carry a multi-line API body.
    message: `${f.error.replace(/\s+/g, ' ').trim()} (after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}; ${retry})`,
    file: `cases/${f.caseId}/case.json`,
  };
}

/**
 * One annotation per failed image: recoverable failures (rate limits, outages) as warnings, the
 * rest (validation, auth, billing) as errors, so the run page shows what needs a human.
 */
export function annotateFailures(failures: readonly FailureRecord[]): void {
  for (const f of failures) {
    const { title, message, file } = describeFailure(f);
    if (f.recoverable) core.warning(message, { title, file });
    else core.error(message, { title, file });
  }
}

/**
 * A warning annotation on the file of every image of this run the vision judge flagged, so the
 * run page points at it. A warning, not an error: the reviewer decides.
 */
export function annotateVerdicts(
  images: readonly GalleryImage[],
  generated: ReadonlyArray<{ caseId: string; imageId: string }>,
): void {
  const fresh = new Set(generated.map((g) => `${g.caseId}/${g.imageId}`));
  for (const image of images) {
    if (!fresh.has(`${image.caseId}/${image.imageId}`) || image.vision?.status !== 'fail') continue;
    core.warning(checklistLine(image.vision), {
      title: `${image.caseId}/${image.imageId}: flagged by vision QA`,
      file: image.file,
    });
  }
}
