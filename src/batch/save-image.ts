import { createHash } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import { readManifest, updateManifest } from '../cases/manifest-store.ts';
import { EXTENSION_FOR_MIME, imageFile } from '../cases/paths.ts';
import type { Provenance, VisionVerdict } from '../cases/provenance.ts';
import type { ManifestEntry } from '../cases/schema.ts';
import { verifyImage } from '../images/inspect.ts';
import { isPlaceholderPng } from '../providers/placeholder.ts';
import type { GeneratedImage, ImageMimeType } from '../providers/types.ts';
import { actualCostUsd } from '../providers/usage-cost.ts';
import { trustStamp } from '../scan/trust.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface SaveMeta {
  batchId: string;
  promptHash: string;
  attempts: number;
  generatedAt: string;
  mode: 'sync' | 'batch';
  quality: string[];
  /** How the image was asked for; the usage and actual cost are added from the reply. */
  provenance?: Omit<Provenance, 'usage' | 'actualCostUsd'>;
  vision?: VisionVerdict;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Provenance as asked for plus what the reply says it used and cost; nothing when nothing is known. */
function provenanceOf(image: GeneratedImage, meta: SaveMeta): { provenance?: Provenance } {
  if (!meta.provenance && !image.usage) return {};
  const actual = image.usage ? actualCostUsd(image.model, image.usage, meta.mode) : undefined;
  return {
    provenance: {
      references: [],
      ...meta.provenance,
      ...(image.usage ? { usage: image.usage } : {}),
      ...(actual !== undefined ? { actualCostUsd: actual } : {}),
    },
  };
}

/**
 * Image first, manifest second, both atomic: a crash in between leaves a finished image the
 * manifest does not know yet, which `adoptOrphan` recognises on resume instead of paying again.
 */
export async function saveImage(
  root: string,
  caseId: string,
  imageId: string,
  image: GeneratedImage,
  meta: SaveMeta,
): Promise<{ file: string; entry: ManifestEntry }> {
  const path = imageFile(root, caseId, imageId, image.mimeType);
  await writeFileAtomic(path, image.bytes);
  const entry: ManifestEntry = {
    file: basename(path),
    sha256: sha256(image.bytes),
    bytes: image.bytes.byteLength,
    // Size and mtime as written, so the scan can trust the file without reading it.
    ...(await trustStamp(path, image.bytes)),
    width: image.width,
    height: image.height,
    mimeType: image.mimeType,
    provider: image.provider,
    model: image.model,
    promptHash: meta.promptHash,
    generatedAt: meta.generatedAt,
    batchId: meta.batchId,
    attempts: meta.attempts,
    costUsd: image.costUsd,
    mode: meta.mode,
    quality: meta.quality,
    review: { status: 'pending', by: null, at: null, pullRequest: null, feedback: null },
    ...provenanceOf(image, meta),
    ...(meta.vision ? { vision: meta.vision } : {}),
  };
  await updateManifest(root, caseId, (m) => {
    m.images[imageId] = entry;
  });
  // An image regenerated in another format replaces the old file.
  for (const mime of Object.keys(EXTENSION_FOR_MIME) as ImageMimeType[]) {
    if (mime !== image.mimeType) await rm(imageFile(root, caseId, imageId, mime), { force: true });
  }
  return { file: relative(root, path), entry };
}

/**
 * After a crash, finds an image this batch finished before the progress file said so, and records
 * it rather than paying for it again. Either the manifest already lists it as this batch's (the
 * crash came after the manifest write), or the file is newer than the batch and differs from what
 * the manifest lists (the crash came between the image and the manifest write). A file the
 * manifest records from an earlier batch is the old image the batch was asked to replace.
 */
export async function adoptOrphan(
  root: string,
  caseId: string,
  imageId: string,
  since: number,
  base: Omit<GeneratedImage, 'bytes' | 'mimeType' | 'width' | 'height' | 'ok'>,
  meta: SaveMeta,
): Promise<string | null> {
  const entry = (await readManifest(root, caseId)).images[imageId];
  for (const mime of Object.keys(EXTENSION_FOR_MIME) as ImageMimeType[]) {
    const path = imageFile(root, caseId, imageId, mime);
    const info = await stat(path).catch(() => null);
    if (!info) continue;
    const bytes = new Uint8Array(await readFile(path));
    if (entry && entry.file === basename(path) && entry.sha256 === sha256(bytes)) {
      // An image kept although it failed the quality checks is not finished work.
      if (entry.batchId === meta.batchId && entry.quality.length === 0) return relative(root, path);
      continue;
    }
    if (info.mtimeMs < since) continue;
    // A stand-in is never mistaken for what a real provider returned.
    if (base.provider !== 'placeholder' && isPlaceholderPng(bytes)) continue;
    const check = verifyImage(bytes);
    if (!check.ok || check.header.mimeType !== mime) continue;
    await saveImage(root, caseId, imageId, { ok: true, bytes, ...check.header, ...base }, meta);
    return relative(root, path);
  }
  return null;
}
