import { join } from 'node:path';
import type { ImageMimeType } from '../images/types.ts';
import { assertCaseId, assertImageId } from './ids.ts';

/** Every path lineup touches hangs off one root (the repository), so tests can use a temp dir. */
export function casesDir(root: string): string {
  return join(root, 'cases');
}

export function caseDir(root: string, caseId: string): string {
  return join(casesDir(root), assertCaseId(caseId));
}

export function caseFile(root: string, caseId: string): string {
  return join(caseDir(root, caseId), 'case.json');
}

export function imagesDir(root: string, caseId: string): string {
  return join(caseDir(root, caseId), 'images');
}

export function manifestFile(root: string, caseId: string): string {
  return join(imagesDir(root, caseId), 'manifest.json');
}

export const EXTENSION_FOR_MIME: Record<ImageMimeType, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
};

function imageFileName(imageId: string, mimeType: ImageMimeType = 'image/png'): string {
  return `${assertImageId(imageId)}.${EXTENSION_FOR_MIME[mimeType]}`;
}

export function imageFile(root: string, caseId: string, imageId: string, mimeType?: ImageMimeType): string {
  return join(imagesDir(root, caseId), imageFileName(imageId, mimeType));
}
