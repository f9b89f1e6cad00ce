import type { PlannedImage } from '../batch/types.ts';
import { imagesToGenerate, scanAll } from './scan.ts';

/**
 * Every image of every case the scan says to (re)generate: missing, empty, corrupt, placeholder
 * or stale, in case order. Unreadable cases are left out here; the scan command reports them.
 */
export async function missingImages(root: string): Promise<PlannedImage[]> {
  return imagesToGenerate(await scanAll(root));
}
