import { join } from 'node:path';
import { assertCaseId } from '../cases/ids.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { type CasePreview, collectPreview } from './collect.ts';
import { renderPreviewHtml } from './html.ts';

export { type CasePreview, collectPreview } from './collect.ts';
export { escapeHtml } from './html.ts';

export function previewFile(root: string, caseId: string): string {
  return join(root, 'reports', 'previews', `${assertCaseId(caseId)}.html`);
}

/** Builds the contact sheet of a case and writes it (default reports/previews/<case-id>.html). */
export async function writePreview(
  root: string,
  caseId: string,
  options: { file?: string; generatedAt?: string } = {},
): Promise<CasePreview & { file: string; html: string }> {
  const preview = await collectPreview(root, caseId);
  const html = renderPreviewHtml(preview, options.generatedAt ? { generatedAt: options.generatedAt } : {});
  const file = options.file ?? previewFile(root, caseId);
  await writeFileAtomic(file, html);
  return { ...preview, file, html };
}
