import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { writeJsonAtomic } from '../util/atomic-write.ts';
import { displayPath, parseJson, toInputError } from '../util/read-json.ts';
import { assertCaseId, isCaseId } from './ids.ts';
import { caseFile, casesDir } from './paths.ts';
import { type Case, caseSchema } from './schema.ts';

/** Reads and validates `cases/<id>/case.json`; every problem is one InputError naming file and field. */
export async function readCase(root: string, caseId: string): Promise<Case> {
  // Checked before any path is built, so a traversal id never reaches the filesystem.
  assertCaseId(caseId);
  const file = caseFile(root, caseId);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InputError(
        `case ${caseId} does not exist; create it with: npx tsx scripts/generate-case.ts --case-id ${caseId}`,
        { file: displayPath(file) },
      );
    }
    throw new InputError(`cannot be read (${code ?? 'error'})`, { file: displayPath(file) });
  }
  return parseCase(text, caseId, file);
}

/**
 * The text of `cases/<caseId>/case.json` as a validated Case: the schema, then the id check. Shared
 * by readCase and the synchronous scan, so both word every problem the same way. `file` is the
 * path the text came from, for the messages.
 */
export function parseCase(text: string, caseId: string, file: string): Case {
  const data = parseJson(text, caseSchema, file);
  // Images and manifests live under the directory name, so a copied case.json with a stale id
  // would silently describe another case.
  if (data.id !== caseId) {
    throw new InputError(`is ${JSON.stringify(data.id)} but the directory is ${caseId}; they must match`, {
      file: displayPath(file),
      field: 'id',
    });
  }
  return data;
}

/** Case ids that have a case.json, sorted; directories that are not valid ids are ignored. */
export async function listCaseIds(root: string): Promise<string[]> {
  let names: string[];
  try {
    const entries = await readdir(casesDir(root), { withFileTypes: true });
    names = entries.filter((e) => e.isDirectory() && isCaseId(e.name)).map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const present = await Promise.all(
    names.map(async (name) => {
      try {
        return (await stat(join(casesDir(root), name, 'case.json'))).isFile();
      } catch {
        return false;
      }
    }),
  );
  return names.filter((_, i) => present[i]).sort();
}

/** Validates and writes a case atomically; invalid data is an InputError and nothing is written. */
export async function writeCase(root: string, data: Case): Promise<void> {
  const file = caseFile(root, assertCaseId(data.id, { field: 'id' }));
  const result = caseSchema.safeParse(data, { reportInput: true });
  if (!result.success) throw toInputError(result.error, file);
  await writeJsonAtomic(file, result.data);
}
