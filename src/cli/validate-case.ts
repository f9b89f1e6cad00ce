import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  let data: Case | null = null;
  const json = parse(text);
  if (!json.ok) rows.push({ check: 'schema', subject: 'case.json', detail: json.message });
  else {
    const result = caseSchema.safeParse(json.value);
    if (!result.success) rows.push(...schemaRows('case.json', result.error.issues));
    else data = result.data;
  }
  if (data && data.id !== caseId) {
    rows.push({
      check: 'schema',
      subject: 'case.json: id',
      detail: `is ${data.id} but the directory is ${caseId}`,
    });
  }
  const imageIds = data ? [...data.suspects.map((s) => s.id), 'scene'] : null;
  if (data) {
    for (const id of imageIds ?? []) {
      try {
        buildPrompt(data, id, { file: 'case.json' });
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        rows.push({ check: 'prompt', subject: id, detail: error.message });
      }
    }
  }

  let manifest: Manifest | null = null;
  const manifestText = await readText(manifestFile(root, caseId));
  if (manifestText !== null) {
    const m = parse(manifestText);
    if (!m.ok) rows.push({ check: 'schema', subject: 'images/manifest.json', detail: m.message });
    else {
      const result = manifestSchema.safeParse(m.value);
      if (!result.success) rows.push(...schemaRows('images/manifest.json', result.error.issues));
      else manifest = result.data;
    }
  }
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
  const dir = imagesDir(root, caseId);

  if (manifest) {
    for (const [imageId, entry] of Object.entries(manifest.images)) {
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
        continue;
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
      if (!header) rows.push({ check: 'image', subject, detail: 'not a PNG, JPEG or WebP image' });
      else {
        if (
          header.mimeType !== entry.mimeType ||
          !entry.file.endsWith(`.${EXTENSION_FOR_MIME[header.mimeType]}`)
        ) {
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
      }
    }
  }

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
    } else if (manifestText === null) {
      // An unreadable manifest is reported once above; saying "no manifest" per file would be wrong.
      rows.push({
        check: 'unrecorded',
        subject: `images/${name}`,
        detail: 'there is no images/manifest.json',
      });
    }
  }
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
