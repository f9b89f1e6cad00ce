import { readdir } from 'node:fs/promises';
import { InputError } from '../../errors.ts';
import { type PlanSource, wantedImages } from '../plan.ts';
import { imageKey, progressDir, readProgress } from '../progress.ts';
import { isCollectable } from './collect.ts';

/** Images waiting in a Batch API job that has not been collected yet, by batch id. */
async function inFlightImages(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names = await readdir(progressDir(root)).catch(() => [] as string[]);
  for (const name of names.filter((n) => /^batch-.*\.json$/.test(n))) {
    const progress = await readProgress(root, name.slice(0, -5)).catch((error: unknown) => {
      if (error instanceof InputError) return undefined;
      throw error;
    });
    if (!progress || !isCollectable(progress)) continue;
    for (const image of progress.pending) out.set(imageKey(image), progress.batchId);
  }
  return out;
}

/**
 * The source without the images another batch already paid the Batch API for: a nightly run
 * must not submit (or generate) them a second time while their job is still running.
 */
export async function withoutInFlight(
  root: string,
  source: PlanSource,
  warn: (message: string) => void,
): Promise<PlanSource> {
  const inFlight = await inFlightImages(root);
  if (inFlight.size === 0) return source;
  const wanted = await wantedImages(root, source);
  const kept = wanted.images.filter((image) => !inFlight.has(imageKey(image)));
  const left = wanted.images.length - kept.length;
  if (left === 0) return source;
  const batches = [...new Set(wanted.images.map((i) => inFlight.get(imageKey(i))).filter(Boolean))];
  warn(`${left} image(s) are waiting in Batch API jobs (${batches.join(', ')}) and are left to them`);
  return { kind: 'images', images: kept, options: wanted.options };
}
