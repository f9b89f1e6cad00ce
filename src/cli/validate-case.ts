import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { assertCaseId } from '../cases/ids.ts';
import { caseDir, caseFile, EXTENSION_FOR_MIME, imagesDir, manifestFile } from '../cases/paths.ts';
import { type Case, caseSchema, type Manifest, manifestSchema } from '../cases/schema.ts';
import { ExitCode, InputError } from '../errors.ts';
import { readImageHeader } from '../images/inspect.ts';
import { buildPrompt } from '../prompts/index.ts';
import { formatTable } from '../scan/table.ts';
import { CASE_STYLE_FILE } from '../styles/style-sheet.ts';
import { displayPath, fieldPath } from '../util/read-json.ts';
import type { Output } from './terminal-reporter.ts';

export interface CaseProblemRow {
  /** Short, stable name of the check that failed. */
  check: string;
  /** The file (relative to the case directory) or field it is about. */
  subject: string;
  detail: string;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}

function parse(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `not valid JSON (${(error as Error).message})` };
  }
}

function schemaRows(
  file: string,
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
): CaseProblemRow[] {
  return issues.map((i) => ({
    check: 'schema',
    subject: `${file}: ${fieldPath(i.path)}`,
    detail: i.message,
  }));
}

/** A JSON file checked against its schema: the value, or null with its problems added to `rows`. */
function validated<T>(text: string, schema: z.ZodType<T>, file: string, rows: CaseProblemRow[]): T | null {
  const json = parse(text);
  if (!json.ok) {
    rows.push({ check: 'schema', subject: file, detail: json.message });
    return null;
  }
  const result = schema.safeParse(json.value);
  if (result.success) return result.data;
  rows.push(...schemaRows(file, result.error.issues));
  return null;
}

/**
 * Every problem of one case, all at once: case.json against the schema (every issue, not only the
 * first), the prompts build, the manifest against the schema and against the files (sha256, size,
 * type, dimensions), entries for suspects that no longer exist, files the manifest does not
 * record, and stray files. A case id that is invalid or names no case is an InputError.
 */
export async function validateCase(root: string, caseId: string): Promise<CaseProblemRow[]> {
  assertCaseId(caseId);
  const text = await readText(caseFile(root, caseId));
  if (text === null) {
    throw new InputError(`case ${caseId} does not exist (no ${displayPath(caseFile(root, caseId))})`, {
      field: 'case-id',
    });
  }
  const rows: CaseProblemRow[] = [];
  const data = validated(text, caseSchema, 'case.json', rows);
  if (data && data.id !== caseId) {
    rows.push({
      check: 'schema',
      subject: 'case.json: id',
      detail: `is ${data.id} but the directory is ${caseId}`,
    });
  }
  const imageIds = data ? [...data.suspects.map((s) => s.id), 'scene'] : null;
  if (data) rows.push(...promptRows(data, imageIds ?? []));

  const manifestText = await readText(manifestFile(root, caseId));
  const manifest =
    manifestText === null ? null : validated(manifestText, manifestSchema, 'images/manifest.json', rows);
  if (manifest && manifest.caseId !== caseId) {
    rows.push({
      check: 'manifest',
      subject: 'images/manifest.json: caseId',
      detail: `is ${manifest.caseId} but the case is ${caseId}`,
    });
  }

  let files: string[] = [];
  try {
    files = (await readdir(imagesDir(root, caseId))).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const present = new Set(files);
  for (const [imageId, entry] of Object.entries(manifest?.images ?? {})) {
    rows.push(...(await entryRows(imagesDir(root, caseId), imageId, entry, imageIds, present)));
  }
  rows.push(...fileRows(files, manifest, manifestText !== null, imageIds));
  // Anything else in the case directory is a stray too: only case.json and images/ belong there.
  for (const name of (await readdir(caseDir(root, caseId))).sort()) {
    if (name !== 'case.json' && name !== 'images' && name !== CASE_STYLE_FILE) {
      rows.push({
        check: 'stray-file',
        subject: name,
        detail: 'only case.json, images/ and style.png belong in a case directory',
      });
    }
  }
  return rows;
}

/** Every image's prompt must build from the case. */
function promptRows(data: Case, imageIds: string[]): CaseProblemRow[] {
  const rows: CaseProblemRow[] = [];
  for (const id of imageIds) {
    try {
      buildPrompt(data, id, { file: 'case.json' });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      rows.push({ check: 'prompt', subject: id, detail: error.message });
    }
  }
  return rows;
}

/** One manifest entry against the case and its file: name, presence, size, sha256, type, dimensions. */
async function entryRows(
  dir: string,
  imageId: string,
  entry: Manifest['images'][string],
  imageIds: string[] | null,
  present: Set<string>,
): Promise<CaseProblemRow[]> {
  const rows: CaseProblemRow[] = [];
  const subject = `images/${entry.file}`;
  if (imageIds && !imageIds.includes(imageId)) {
    rows.push({
      check: 'orphan-entry',
      subject: `images/manifest.json: images.${imageId}`,
      detail: `case has no ${imageId}`,
    });
  }
  if (!entry.file.startsWith(`${imageId}.`)) {
    rows.push({
      check: 'manifest',
      subject: `images/manifest.json: images.${imageId}.file`,
      detail: `${entry.file} is not a file of ${imageId}`,
    });
  }
  if (!present.has(entry.file)) {
    rows.push({ check: 'missing-file', subject, detail: 'listed in the manifest but not on disk' });
    return rows;
  }
  const bytes = new Uint8Array(await readFile(join(dir, entry.file)));
  if (bytes.length !== entry.bytes) {
    rows.push({
      check: 'size',
      subject,
      detail: `${bytes.length} bytes on disk, manifest says ${entry.bytes}`,
    });
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== entry.sha256) {
    rows.push({
      check: 'sha256',
      subject,
      detail: `file is ${sha.slice(0, 12)}…, manifest says ${entry.sha256.slice(0, 12)}…`,
    });
  }
  const header = readImageHeader(bytes);
  if (!header) {
    rows.push({ check: 'image', subject, detail: 'not a PNG, JPEG or WebP image' });
    return rows;
  }
  if (header.mimeType !== entry.mimeType || !entry.file.endsWith(`.${EXTENSION_FOR_MIME[header.mimeType]}`)) {
    rows.push({
      check: 'type',
      subject,
      detail: `holds ${header.mimeType}; manifest says ${entry.mimeType}`,
    });
  }
  if (header.width !== entry.width || header.height !== entry.height) {
    rows.push({
      check: 'dimensions',
      subject,
      detail: `${header.width}x${header.height} on disk, manifest says ${entry.width}x${entry.height}`,
    });
  }
  return rows;
}

/** Files in images/ that are not this case's images, or that the manifest does not record. */
function fileRows(
  files: string[],
  manifest: Manifest | null,
  hasManifestFile: boolean,
  imageIds: string[] | null,
): CaseProblemRow[] {
  const rows: CaseProblemRow[] = [];
  const recorded = new Set(Object.values(manifest?.images ?? {}).map((e) => e.file));
  for (const name of files) {
    if (name === 'manifest.json') continue;
    const m = /^(suspect-[1-9]\d?|scene)\.(png|jpg|webp)$/.exec(name);
    const known = m?.[1] !== undefined && (imageIds ? imageIds.includes(m[1]) : true);
    if (!known)
      rows.push({
        check: 'stray-file',
        subject: `images/${name}`,
        detail: 'not an image of this case nor manifest.json',
      });
    else if (manifest && !recorded.has(name)) {
      rows.push({ check: 'unrecorded', subject: `images/${name}`, detail: 'not recorded in manifest.json' });
    } else if (!hasManifestFile) {
      // An unreadable manifest is reported once above; saying "no manifest" per file would be wrong.
      rows.push({
        check: 'unrecorded',
        subject: `images/${name}`,
        detail: 'there is no images/manifest.json',
      });
    }
  }
  return rows;
}

export interface ValidateCaseArgs {
  caseId?: string;
  json?: boolean;
}

/** validate-case: exit 0 clean, 1 with a table of problems, 2 for a bad or unknown case id. */
export async function validateCaseCommand(
  root: string,
  args: ValidateCaseArgs,
  output: Output,
): Promise<number> {
  if (!args.caseId) throw new InputError('--case-id is required', { field: '--case-id' });
  const rows = await validateCase(root, args.caseId);
  const code = rows.length ? ExitCode.someFailed : ExitCode.ok;
  if (args.json) output.out(JSON.stringify({ caseId: args.caseId, problems: rows, exitCode: code }, null, 2));
  else if (rows.length === 0) output.out(`${args.caseId}: valid.`);
  else {
    output.out(
      formatTable(
        ['check', 'where', 'problem'],
        rows.map((r) => [r.check, r.subject, r.detail]),
      ),
    );
    output.out(`\n${args.caseId}: ${rows.length} problem(s).`);
  }
  return code;
}
