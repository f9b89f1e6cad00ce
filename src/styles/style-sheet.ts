import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { caseDir } from '../cases/paths.ts';
import type { ManifestEntry } from '../cases/schema.ts';
import { InputError } from '../errors.ts';
import { verifyImage } from '../images/inspect.ts';
import { displayPath } from '../util/read-json.ts';

/**
 * A case's style sheet: one picture whose palette, line and lighting every image of the case
 * copies. `cases/<id>/style.png` wins; else a shared `styles/<art-style-slug>.png` named by the
 * case's artStyle, so cases drawn in one style can share one sheet (README, "One style per case").
 */
export interface StyleSheet {
  /** Repository-relative, forward slashes. */
  file: string;
  sha256: string;
  mimeType: 'image/png';
  bytes: Uint8Array;
}

export const CASE_STYLE_FILE = 'style.png';

/** The text part sent beside the style sheet: a reference for look, not for content. */
export const STYLE_INSTRUCTION =
  "The attached image is this case's style sheet: match its colour palette, line work, texture and lighting. Do not copy its people, objects or composition.";

/** `1940s film noir ink wash, deep blacks` → `1940s-film-noir-ink-wash-deep-blacks` (at most 80 characters). */
export function styleSlug(artStyle: string): string {
  return artStyle
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/, '');
}

export function caseStylePath(root: string, caseId: string): string {
  return join(caseDir(root, caseId), CASE_STYLE_FILE);
}

export function sharedStylePath(root: string, artStyle: string): string {
  return join(root, 'styles', `${styleSlug(artStyle) || 'default'}.png`);
}

function candidates(root: string, data: { id: string; artStyle?: string | undefined }): string[] {
  const out = [caseStylePath(root, data.id)];
  if (data.artStyle) out.push(sharedStylePath(root, data.artStyle));
  return out;
}

function toSheet(root: string, path: string, bytes: Uint8Array): StyleSheet {
  const checked = verifyImage(bytes);
  if (!checked.ok || checked.header.mimeType !== 'image/png') {
    throw new InputError(
      `is not a PNG image${checked.ok ? ` (it holds ${checked.header.mimeType})` : `: ${checked.reason}`}`,
      {
        file: displayPath(path),
      },
    );
  }
  return {
    file: relative(root, path).split('\\').join('/'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    mimeType: 'image/png',
    bytes,
  };
}

/** The sheet at `path`, undefined when there is none; a broken one is an InputError naming the file. */
async function readSheet(root: string, path: string): Promise<StyleSheet | undefined> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  return bytes ? toSheet(root, path, new Uint8Array(bytes)) : undefined;
}

/**
 * Sheets already looked for, by path, in one plan: the cases drawn in one art style share one
 * sheet, which is then read, checked and hashed once rather than once per case.
 */
export type SheetCache = Map<string, Promise<StyleSheet | undefined>>;

/** The case's style sheet, or undefined when it has none; a broken one is an InputError naming the file. */
export async function findStyleSheet(
  root: string,
  data: { id: string; artStyle?: string | undefined },
  cache?: SheetCache,
): Promise<StyleSheet | undefined> {
  for (const path of candidates(root, data)) {
    const sheet = cache?.get(path) ?? readSheet(root, path);
    cache?.set(path, sheet);
    const found = await sheet;
    if (found) return found;
  }
  return undefined;
}

/** Hashes of shared sheets by path, size and mtime: a scan meets one shared sheet for many cases. */
const shaCache = new Map<string, { key: string; sha256: string }>();

/**
 * The sheet's sha256 (hashed again only when its size or mtime changed); null when there is no
 * file; undefined when it cannot be read, which counts as no sheet (planning reports it properly).
 */
function sheetShaSync(path: string): string | null | undefined {
  // No exception for the usual case (no sheet): a scan asks this of every case.
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return null;
  const key = `${info.size}:${info.mtimeMs}`;
  const hit = shaCache.get(path);
  if (hit?.key === key) return hit.sha256;
  try {
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    shaCache.set(path, { key, sha256 });
    return sha256;
  } catch {
    return undefined;
  }
}

/**
 * Style sheet hashes for one synchronous scan: each case's own sheet is looked for (one failed
 * stat per case without one), a shared sheet once per art style and scan rather than once per case.
 */
export class ScanStyleSheets {
  private readonly shared = new Map<string, string | undefined>();

  constructor(private readonly root: string) {}

  /** The sha256 of the sheet for the case in `dir` (its checked directory), undefined when it has none. */
  sha(dir: string, artStyle: string | null): string | undefined {
    const own = sheetShaSync(`${dir}/${CASE_STYLE_FILE}`);
    if (own !== null) return own;
    if (!artStyle) return undefined;
    if (!this.shared.has(artStyle)) {
      this.shared.set(artStyle, sheetShaSync(sharedStylePath(this.root, artStyle)) ?? undefined);
    }
    return this.shared.get(artStyle);
  }
}

/** The style sheet an image was made with, from its provenance; undefined when none was sent. */
export function recordedStyleSha(entry: Pick<ManifestEntry, 'provenance'>): string | undefined {
  return entry.provenance?.references.find((r) => r.role === 'style')?.sha256;
}
