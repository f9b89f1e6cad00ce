import type { PlannedImage } from '../batch/types.ts';
import { readCase } from '../cases/case-store.ts';
import { imagesToGenerate, scanAll } from './scan.ts';

/**
 * Every image the scan says to (re)generate: missing, empty, corrupt, placeholder or stale, in
 * case order. Over all cases, unreadable ones are left out (the scan command reports them); a case
 * named in `caseIds` must be readable, so a typo is an InputError rather than "nothing to do".
 */
export async function missingImages(root: string, caseIds?: string[]): Promise<PlannedImage[]> {
  if (caseIds) for (const id of caseIds) await readCase(root, id);
  return imagesToGenerate(await scanAll(root, caseIds ? { caseIds } : {}));
}
