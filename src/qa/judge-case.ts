import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCase } from '../cases/case-store.ts';
import { readManifest, updateManifest } from '../cases/manifest-store.ts';
import { imagesDir } from '../cases/paths.ts';
import type { VisionVerdict } from '../cases/provenance.ts';
import type { Config } from '../config/schema.ts';
import { type Clock, systemClock } from '../util/clock.ts';
import { standaloneGate } from './gate.ts';
import { judgeClientFor, visionPolicy } from './registry.ts';
import { VisionReview } from './vision-review.ts';

export interface CaseVerdicts {
  /** Verdicts by image id, for the images that were judged. */
  images: Array<{ imageId: string; verdict: VisionVerdict }>;
  lineup?: VisionVerdict | undefined;
  /** Why nothing was judged, when nothing was. */
  skipped?: string;
}

export interface JudgeCaseOptions {
  root: string;
  caseId: string;
  config: Config;
  apiKey?: string | undefined;
  /** Images that failed the pixel checks: not judged (they need regenerating first). */
  failedPixelChecks: ReadonlySet<string>;
  clock?: Clock;
}

/**
 * validate-image-quality's second pass: judges every image of the case on disk that passed the
 * pixel checks and is not a placeholder, records each verdict in the manifest, then the lineup.
 */
export async function judgeCaseImages(o: JudgeCaseOptions): Promise<CaseVerdicts> {
  const policy = visionPolicy(o.config, o.apiKey);
  if (policy === 'off' || policy === undefined) return { images: [], skipped: 'qa.vision is off' };
  if (!o.apiKey) return { images: [], skipped: 'offline (GEMINI_API_KEY is not set)' };
  const clock = o.clock ?? systemClock;
  const client = judgeClientFor(o.config, o.apiKey);
  const review = new VisionReview({ root: o.root, config: o.config, client, policy: 'flag', clock });
  const gate = standaloneGate(o.config, clock, () => undefined);
  const data = await readCase(o.root, o.caseId);
  const manifest = await readManifest(o.root, o.caseId);
  const out: CaseVerdicts = { images: [] };
  for (const imageId of [...data.suspects.map((s) => s.id), 'scene']) {
    const entry = manifest.images[imageId];
    if (!entry || entry.provider === 'placeholder' || o.failedPixelChecks.has(imageId)) continue;
    const bytes = await readFile(join(imagesDir(o.root, o.caseId), entry.file)).catch(() => undefined);
    if (!bytes) continue;
    const verdict = await review.judgeFile(
      { caseId: o.caseId, imageId },
      { mimeType: entry.mimeType, bytes: new Uint8Array(bytes) },
      gate,
    );
    await updateManifest(o.root, o.caseId, (m) => {
      const current = m.images[imageId];
      // Recorded only on the image that was judged: a file replaced meanwhile is not this verdict's.
      if (current && current.sha256 === entry.sha256) current.vision = verdict;
    });
    out.images.push({ imageId, verdict });
  }
  if (out.images.length === 0)
    return { images: [], skipped: 'no generated image to judge (placeholders are not judged)' };
  out.lineup = await review.lineup(o.caseId, gate);
  return out;
}
