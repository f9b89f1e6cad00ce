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

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

/**
 * A bad value as the user should see it: quoted, cut short, and with anything outside printable
 * ASCII escaped, so a NUL byte or a Cyrillic look-alike letter is visible instead of hidden.
 */
export function showString(value: string): string {
  const short = value.length > 60 ? `${value.slice(0, 60)}...` : value;
  const escaped = short.replace(/[^\x20-\x7e]|["\\]/g, (ch) =>
    ch === '"' || ch === '\\' ? `\\${ch}` : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `"${escaped}"`;
}

/** Messages end up on one terminal line or one report field, so whitespace runs collapse to a space. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The first zod issue as an InputError naming the file and the field. */
export function toInputError(error: z.ZodError, file: string): InputError {
  const issue = error.issues[0];
  if (!issue) return new InputError('is not valid', { file: displayPath(file) });
  let field = fieldPath(issue.path);
  let message = issue.message;
  // zod's default ("Invalid input: expected string, received undefined") reads poorly. `input` is
  // only there when parsing with reportInput; otherwise zod's own text says what it received.
  if (issue.code === 'invalid_type') {
    const received =
      'input' in issue && issue.input !== undefined
        ? describeValue(issue.input)
        : (/received (\w+)/.exec(issue.message)?.[1] ?? 'undefined');
    message =
      received === 'undefined'
        ? `is required (expected ${issue.expected})`
        : `expected ${issue.expected}, got ${received}`;
  } else if (issue.code === 'unrecognized_keys') {
    field = fieldPath([...issue.path, issue.keys[0] ?? '']);
    message = 'is not a known field';
  } else if (issue.code === 'too_big' && (typeof issue.input === 'string' || Array.isArray(issue.input))) {
    message = `${message} (got ${issue.input.length})`;
  } else if (issue.code === 'too_small' && Array.isArray(issue.input)) {
    message = `${message} (got ${issue.input.length})`;
  } else if (issue.code === 'invalid_format' && typeof issue.input === 'string') {
    message = `${message} (got ${showString(issue.input)})`;
  }
  return new InputError(oneLine(message), { file: displayPath(file), field });
}

/** Parses JSON text with a schema; every failure is one InputError naming file and field. */
export function parseJson<S extends z.ZodType>(text: string, schema: S, file: string): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(oneLine(`is not valid JSON (${(error as Error).message})`), {
      file: displayPath(file),
    });
  }
  const result = schema.safeParse(data, { reportInput: true });
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
