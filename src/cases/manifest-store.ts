import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../errors.ts';
import { writeJsonAtomic } from '../util/atomic-write.ts';
import { displayPath, parseJson, toInputError } from '../util/read-json.ts';
import { assertCaseId } from './ids.ts';
import { manifestFile } from './paths.ts';
import { type Manifest, manifestSchema } from './schema.ts';

/** The case's image manifest; an empty one when the case has no images yet. */
export async function readManifest(root: string, caseId: string): Promise<Manifest> {
  const file = manifestFile(root, assertCaseId(caseId));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { caseId, images: {} };
    throw new InputError(`cannot be read (${code ?? 'error'})`, { file: displayPath(file) });
  }
  return parseManifest(text, caseId, file);
}

/**
 * The text of a case's manifest.json as a validated Manifest: the schema, then the check that it
 * belongs to `caseId`. Shared by readManifest and the synchronous scan, so both word every problem
 * the same way. `file` is the path the text came from, for the messages.
 */
export function parseManifest(text: string, caseId: string, file: string): Manifest {
  const manifest = parseJson(text, manifestSchema, file);
  if (manifest.caseId !== caseId) {
    throw new InputError(`is ${JSON.stringify(manifest.caseId)} but the manifest belongs to ${caseId}`, {
      file: displayPath(file),
      field: 'caseId',
    });
  }
  return manifest;
}

/** Validates and writes the manifest atomically (temp file + rename). */
export async function writeManifest(root: string, manifest: Manifest): Promise<void> {
  const file = manifestFile(root, assertCaseId(manifest.caseId, { field: 'caseId' }));
  const result = manifestSchema.safeParse(manifest, { reportInput: true });
  if (!result.success) throw toInputError(result.error, file);
  await writeJsonAtomic(file, result.data);
}

/** Tail of the queue of updates per manifest file; an entry is removed when its queue drains. */
const queues = new Map<string, Promise<unknown>>();

/**
 * Read-modify-write under an in-process per-case lock (several images of one case can finish
 * concurrently), written atomically. `change` mutates the manifest it is given; a throw from it
 * leaves the file untouched and is rethrown to this caller only, so the queue keeps going.
 */
export async function updateManifest(
  root: string,
  caseId: string,
  change: (m: Manifest) => void | Promise<void>,
): Promise<Manifest> {
  // Keyed by absolute path so `.` and `/abs/repo` share one lock.
  const key = resolve(manifestFile(root, assertCaseId(caseId)));
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(async () => {
    const manifest = await readManifest(root, caseId);
    await change(manifest);
    await writeManifest(root, manifest);
    return manifest;
  });
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}
