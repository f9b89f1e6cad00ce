import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readCase } from '../cases/case-store.ts';
import { IMAGE_ID_PATTERN } from '../cases/ids.ts';
import { imagesDir } from '../cases/paths.ts';
import type { AspectRatio } from '../images/types.ts';
import { buildPrompt } from '../prompts/index.ts';
import {
  checkImage,
  hammingDistance,
  perceptualHash,
  QUALITY_LIMITS,
  type QualityCheckName,
} from './checks.ts';

/** The part of a planned image the checks read. */
interface CheckedImage {
  caseId: string;
  imageId: string;
  aspectRatio: AspectRatio;
}

/** Checks a fresh image before it is saved; returns the names of failed checks (empty = good). */
export type ImageCheck = (item: CheckedImage, bytes: Uint8Array) => Promise<string[]> | string[];

const IMAGE_FILE = /^(suspect-[1-9]\d?|scene)\.(?:png|jpg|webp)$/;

/** The case's image files on disk as [imageId, file name]; a missing directory is no images. */
async function imageFiles(root: string, caseId: string): Promise<Array<[string, string]>> {
  let names: string[];
  try {
    names = await readdir(imagesDir(root, caseId));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: Array<[string, string]> = [];
  for (const name of names.sort()) {
    const m = IMAGE_FILE.exec(name);
    if (m?.[1] && IMAGE_ID_PATTERN.test(m[1])) out.push([m[1], name]);
  }
  return out;
}

/**
 * The batch engine's hook: checks a fresh image against what was asked and against the OTHER
 * images of its case already on disk (the old file of the same image is what it replaces, so it
 * does not count). Hashes are cached by path, size and mtime: a batch checks many images of a
 * case against the same neighbours.
 */
export function createQualityCheck(root: string): ImageCheck {
  const cache = new Map<string, { key: string; hash: bigint | null }>();
  const hashOf = async (path: string): Promise<bigint | null> => {
    const info = await stat(path).catch(() => null);
    if (!info) return null;
    const key = `${info.size}:${info.mtimeMs}`;
    const hit = cache.get(path);
    if (hit?.key === key) return hit.hash;
    const hash = perceptualHash(new Uint8Array(await readFile(path)));
    cache.set(path, { key, hash });
    return hash;
  };
  return async (item: CheckedImage, bytes: Uint8Array) => {
    const dir = imagesDir(root, item.caseId);
    const others: Array<{ label: string; image: bigint }> = [];
    for (const [imageId, file] of await imageFiles(root, item.caseId)) {
      if (imageId === item.imageId) continue;
      const hash = await hashOf(join(dir, file));
      if (hash !== null) others.push({ label: imageId, image: hash });
    }
    const { failures } = checkImage(bytes, { aspectRatio: item.aspectRatio }, others);
    return [...new Set(failures.map((f) => f.check))];
  };
}

interface QualityRow {
  imageId: string;
  file: string | null;
  check: QualityCheckName | 'missing';
  detail: string;
}

export interface CaseQualityReport {
  caseId: string;
  /** Images of the case that have a file and were checked. */
  checked: number;
  failures: QualityRow[];
}

/**
 * Checks every image of a case (validate-image-quality). Each image is decoded once; the
 * near-duplicate check then compares the hashes pairwise, naming both images of a pair.
 */
export async function validateCaseImages(root: string, caseId: string): Promise<CaseQualityReport> {
  const data = await readCase(root, caseId);
  const files = new Map(await imageFiles(root, caseId));
  const dir = imagesDir(root, caseId);
  const failures: QualityRow[] = [];
  const hashes: Array<{ imageId: string; file: string; hash: bigint }> = [];
  let checked = 0;
  for (const imageId of [...data.suspects.map((s) => s.id), 'scene']) {
    const file = files.get(imageId) ?? null;
    if (!file) {
      failures.push({ imageId, file: null, check: 'missing', detail: 'no image file' });
      continue;
    }
    checked += 1;
    const bytes = new Uint8Array(await readFile(join(dir, file)));
    const result = checkImage(bytes, { aspectRatio: buildPrompt(data, imageId).aspectRatio });
    for (const f of result.failures) failures.push({ imageId, file, ...f });
    if (result.hash !== null) hashes.push({ imageId, file, hash: result.hash });
  }
  for (const [i, a] of hashes.entries()) {
    for (const b of hashes.slice(i + 1)) {
      const distance = hammingDistance(a.hash, b.hash);
      if (distance > QUALITY_LIMITS.maxDuplicateDistance) continue;
      failures.push({
        imageId: a.imageId,
        file: a.file,
        check: 'near-duplicate',
        detail: `looks like ${b.imageId} (distance ${distance}/64)`,
      });
      failures.push({
        imageId: b.imageId,
        file: b.file,
        check: 'near-duplicate',
        detail: `looks like ${a.imageId} (distance ${distance}/64)`,
      });
    }
  }
  const order = [...data.suspects.map((s) => s.id), 'scene'];
  failures.sort((x, y) => order.indexOf(x.imageId) - order.indexOf(y.imageId));
  return { caseId, checked, failures };
}
