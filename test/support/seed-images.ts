import { saveImage } from '../../src/batch/save-image.ts';
import { readCase } from '../../src/cases/case-store.ts';
import { buildPrompt } from '../../src/prompts/index.ts';
import { renderPlaceholderPng } from '../../src/providers/placeholder.ts';
import { SIZE_FOR_ASPECT } from '../../src/providers/types.ts';

/** Every image of a case, drawn by the placeholder and recorded in the manifest as batch 001 made it. */
export async function seedPlaceholderImages(root: string, caseId: string): Promise<void> {
  const data = await readCase(root, caseId);
  for (const imageId of [...data.suspects.map((s) => s.id), 'scene']) {
    const built = buildPrompt(data, imageId);
    const size = SIZE_FOR_ASPECT[built.aspectRatio];
    const bytes = renderPlaceholderPng(built.prompt, size.width, size.height, built.kind);
    await saveImage(
      root,
      caseId,
      imageId,
      {
        ok: true,
        bytes,
        mimeType: 'image/png',
        ...size,
        provider: 'placeholder',
        model: 'placeholder',
        costUsd: 0,
      },
      {
        batchId: 'batch-2025-01-19-001',
        promptHash: built.promptHash,
        attempts: 1,
        generatedAt: 'x',
        mode: 'sync',
        quality: [],
      },
    );
  }
}
