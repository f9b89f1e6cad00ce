import { resolve } from 'node:path';
import { ExitCode, InputError } from '../errors.ts';
import { writePreview } from '../preview/index.ts';
import { displayPath } from '../util/read-json.ts';
import type { Output } from './terminal-reporter.ts';

export interface PreviewArgs {
  caseId?: string;
  out?: string;
  json?: boolean;
}

/**
 * The preview command (README, "Other commands"). Exit 0 whenever the page was written: missing or unreadable images
 * are shown on the page, since finding them is what the page is for.
 */
export async function previewCommand(root: string, args: PreviewArgs, output: Output): Promise<number> {
  if (!args.caseId) throw new InputError('--case-id is required', { field: '--case-id' });
  const result = await writePreview(root, args.caseId, args.out ? { file: resolve(args.out) } : {});
  const images = result.images.map((i) => ({
    imageId: i.imageId,
    label: i.label,
    status: i.status,
    placeholder: i.placeholder,
    review: i.review?.status ?? null,
    quality: i.quality,
    stale: i.stale,
  }));
  if (args.json) {
    output.out(JSON.stringify({ caseId: args.caseId, file: displayPath(result.file), images }, null, 2));
    return ExitCode.ok;
  }
  for (const i of images) {
    const notes = [
      i.placeholder ? 'placeholder' : '',
      i.review ? `review ${i.review}` : '',
      i.stale ? 'stale' : '',
      ...i.quality.map((q) => `quality: ${q}`),
    ].filter(Boolean);
    output.out(`  ${i.imageId.padEnd(10)} ${i.status.padEnd(10)} ${notes.join(', ')}`.trimEnd());
  }
  const missing = images.filter((i) => i.status !== 'ok').length;
  output.out(
    `Wrote ${displayPath(result.file)} (${images.length} images${missing ? `, ${missing} missing or unreadable` : ''}).`,
  );
  return ExitCode.ok;
}
