import type { GalleryImage } from '../../src/github/gallery.ts';

/** One gallery entry as a sync Gemini run leaves it, pending review; `over` changes any field. */
export function galleryImage(over: Partial<GalleryImage> = {}): GalleryImage {
  return {
    caseId: 'case-2025-01-19',
    imageId: 'suspect-1',
    name: 'Ada Finch',
    file: 'cases/case-2025-01-19/images/suspect-1.png',
    prompt: 'Portrait of Ada Finch, a botanist',
    model: 'gemini-2.5-flash-image',
    provider: 'gemini',
    costUsd: 0.039,
    mode: 'sync',
    quality: [],
    review: 'pending',
    ...over,
  };
}
