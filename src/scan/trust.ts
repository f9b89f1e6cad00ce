import { stat } from 'node:fs/promises';
import { EXTENSION_FOR_MIME } from '../cases/paths.ts';
import { isPlaceholderPng } from '../providers/placeholder.ts';
import { bytesFacts, type FileFacts } from './read-head.ts';

/**
 * Whether a stamp may vouch for a file named `name` with these facts: a whole PNG, JPEG or WebP
 * whose type matches the extension and that carries no placeholder marker. A trusted image is then
 * "clean, placeholder only if the manifest's provider says so", exactly what reading it gives.
 */
export function isVouchable(name: string, facts: FileFacts): boolean {
  return (
    facts.size > 0 &&
    facts.problem === null &&
    facts.header !== null &&
    name.endsWith(`.${EXTENSION_FOR_MIME[facts.header.mimeType]}`) &&
    !isPlaceholderPng(facts.head)
  );
}

/**
 * The stamp saveImage records beside an image so a later scan can trust the file from a stat
 * alone, as git's index trusts a file whose size and mtime it recorded: `{ mtimeMs }` of the file
 * just written, or nothing when the scan must always read it.
 *
 * Trusting a file means answering what reading it would answer, so only bytes that the scan would
 * find clean are stamped (isVouchable). Placeholder PNGs are never stamped, so editing their
 * manifest provider cannot hide the marker. The scan index keeps the same verdict for files a scan
 * read (see scan-index.ts).
 */
export async function trustStamp(path: string, bytes: Uint8Array): Promise<{ mtimeMs?: number }> {
  if (!isVouchable(path, bytesFacts(bytes))) return {};
  const info = await stat(path);
  // Another writer between our rename and this stat would leave a size that differs from ours.
  return info.size === bytes.byteLength ? { mtimeMs: info.mtimeMs } : {};
}
