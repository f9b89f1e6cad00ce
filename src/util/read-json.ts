import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import type { z } from 'zod';
import { InputError } from '../errors.ts';

/** A path as users see it: relative to the working directory when inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** `suspects[1].name`, the way a user would point at it. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

/** The first zod issue as an InputError naming the file and the field. */
export function toInputError(error: z.ZodError, file: string): InputError {
  const issue = error.issues[0];
  if (!issue) return new InputError('is not valid', { file: displayPath(file) });
  let field = fieldPath(issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    field = fieldPath([...issue.path, issue.keys[0] ?? '']);
    message = 'is not a known field';
  }
  return new InputError(message, { file: displayPath(file), field });
}

/** Parses JSON text with a schema; every failure is one InputError naming file and field. */
export function parseJson<S extends z.ZodType>(text: string, schema: S, file: string): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(`is not valid JSON (${(error as Error).message})`, { file: displayPath(file) });
  }
  const result = schema.safeParse(data);
  if (!result.success) throw toInputError(result.error, file);
  return result.data;
}

export async function readJsonFile<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`;
    throw new InputError(why, { file: displayPath(file) });
  }
  return parseJson(text, schema, file);
}
