import { saveImage } from '../../src/batch/save-image.ts';
import { readCase } from '../../src/cases/case-store.ts';
import { type BuiltPrompt, buildPrompt } from '../../src/prompts/build-prompt.ts';
import { renderPlaceholderPng } from '../../src/providers/placeholder.ts';
import { type ProviderName, SIZE_FOR_ASPECT } from '../../src/providers/types.ts';

/** Who "made" the seeded images: their bytes for a prompt and size, and what the manifest records. */
export interface SeedMaker {
  draw(built: BuiltPrompt, size: { width: number; height: number }): Uint8Array | Promise<Uint8Array>;
  provider: ProviderName;
  model: string;
  costUsd: number;
}

/** Every image of a case, saved through saveImage and recorded in the manifest as batch 001 made it. */
export async function seedImages(root: string, caseId: string, maker: SeedMaker): Promise<void> {
  const data = await readCase(root, caseId);
  for (const imageId of [...data.suspects.map((s) => s.id), 'scene']) {
    const built = buildPrompt(data, imageId);
    const size = SIZE_FOR_ASPECT[built.aspectRatio];
    const bytes = await maker.draw(built, size);
    const { provider, model, costUsd } = maker;
    await saveImage(
      root,
      caseId,
      imageId,
      { ok: true, bytes, mimeType: 'image/png', ...size, provider, model, costUsd },
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

/** Every image of a case, drawn by the placeholder and recorded in the manifest as batch 001 made it. */
export function seedPlaceholderImages(root: string, caseId: string): Promise<void> {
  return seedImages(root, caseId, {
    draw: (built, size) => renderPlaceholderPng(built.prompt, size.width, size.height, built.kind),
    provider: 'placeholder',
    model: 'placeholder',
    costUsd: 0,
  });
}
