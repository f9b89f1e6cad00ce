import { readCase } from '../cases/case-store.ts';
import { InputError, InputErrors } from '../errors.ts';
import type { PlannedImage } from '../images/types.ts';
import { imagesToGenerate, scanAll } from './scan.ts';

/**
 * Every image the scan says to (re)generate: missing, empty, corrupt, placeholder or stale, in
 * case order, for a batch to make. A case that cannot be read is bad input for that batch: all of
 * them are listed at once (InputErrors, exit 2) rather than skipped in silence. The scan command
 * itself reports them instead (it is a report, not a batch).
 */
export async function missingImages(root: string, caseIds?: string[]): Promise<PlannedImage[]> {
  if (caseIds) for (const id of caseIds) await readCase(root, id);
  const report = await scanAll(root, caseIds ? { caseIds } : {});
  if (report.problems.length) throw new InputErrors(report.problems.map((p) => new InputError(p.message)));
  return imagesToGenerate(report);
}
