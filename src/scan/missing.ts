import { listCaseIds, readCase } from '../cases/case-store.ts';
import type { PlannedImage } from '../batch/types.ts';
import { imageExists } from '../batch/plan.ts';

/** Every image of every case that has no file yet, in case order (what `--scan-all --fix` makes). */
export async function missingImages(root: string): Promise<PlannedImage[]> {
  const out: PlannedImage[] = [];
  for (const caseId of await listCaseIds(root)) {
    const data = await readCase(root, caseId);
    for (const s of data.suspects) {
      if (!(await imageExists(root, caseId, s.id))) out.push({ type: 'suspect', caseId, suspectId: s.id });
    }
    if (!(await imageExists(root, caseId, 'scene'))) out.push({ type: 'scene', caseId });
  }
  return out;
}
