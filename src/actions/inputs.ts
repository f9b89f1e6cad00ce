import * as core from '@actions/core';
import { z } from 'zod';
import { InputError, InputErrors } from '../errors.ts';
import type { RunFace } from '../run/prepare-run.ts';
import { errorMessage } from '../util/error-message.ts';
import { scrub } from '../util/scrub.ts';

/**
 * The actions' inputs, read once per run: each face's main.ts gives a zod schema over the raw
 * INPUT_* values (trimmed, '' as undefined, since a runner passes unset inputs as ''), built from
 * the field readers below, and parseInputs turns every problem into an InputError naming its input.
 */

/** An input's trimmed value, or undefined when empty (a runner passes unset inputs as ''). */
function optionalInput(name: string): string | undefined {
  const value = core.getInput(name).trim();
  return value === '' ? undefined : value;
}

/**
 * A field of a face's schema: `read` turns the raw value into the run's value and throws an
 * InputError (or InputErrors) for a bad one; every problem becomes an issue of the parse.
 */
function field<T>(read: (value: string | undefined) => T) {
  return z
    .string()
    .optional()
    .transform((value, ctx): T => {
      try {
        return read(value);
      } catch (error) {
        if (!(error instanceof InputError || error instanceof InputErrors)) throw error;
        ctx.addIssue({ code: 'custom', message: error.message, params: { error } });
        return z.NEVER;
      }
    });
}

/**
 * The readers of a schema's fields. A boolean, unlike core.getBooleanInput, takes an empty value
 * as the default instead of an error, so the action behaves the same when started without its
 * action.yml defaults (tests, act).
 */
export const input = {
  text: () => field((value) => value),
  boolean: (name: string, fallback: boolean) =>
    field((value) => {
      if (value === undefined) return fallback;
      if (/^(true|yes|on|1)$/i.test(value)) return true;
      if (/^(false|no|off|0)$/i.test(value)) return false;
      throw new InputError(`${JSON.stringify(value)} is not a boolean; use true or false`, { field: name });
    }),
  number: (name: string) =>
    field((value) => {
      if (value === undefined) return undefined;
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) {
        throw new InputError(`${JSON.stringify(value)} is not a non-negative number`, { field: name });
      }
      return n;
    }),
  oneOf: <T extends string>(name: string, allowed: readonly T[]) =>
    field((value): T | undefined => {
      if (value === undefined) return undefined;
      if (!(allowed as readonly string[]).includes(value)) {
        throw new InputError(`${JSON.stringify(value)} is not one of ${allowed.join(', ')}`, { field: name });
      }
      return value as T;
    }),
  /** Any other check: `read` gets the trimmed value or undefined. */
  custom: <T>(read: (value: string | undefined) => T) => field(read),
};

/**
 * Reads the inputs the schema names (its keys are the input names) and parses them: a bad input
 * throws what its reader threw; several bad inputs, InputErrors listing every problem.
 */
export function parseInputs<S extends z.ZodObject>(schema: S): z.output<S> {
  const raw = Object.fromEntries(Object.keys(schema.shape).map((name) => [name, optionalInput(name)]));
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => {
    const error = (issue as { params?: { error?: unknown } }).params?.error;
    return error instanceof InputError || error instanceof InputErrors
      ? error
      : new InputError(issue.message, { field: String(issue.path[0] ?? 'inputs') });
  });
  // One input's problems as its reader gave them (one error, or a list); several inputs' as one list.
  if (errors.length === 1 && errors[0]) throw errors[0];
  throw new InputErrors(errors.flatMap((e) => (e instanceof InputErrors ? e.problems : [e])));
}

/** The Gemini key: the gemini-api-key input, else GEMINI_API_KEY from the step's env. */
export function apiKeyInput(): string | undefined {
  return core.getInput('gemini-api-key').trim() || process.env.GEMINI_API_KEY?.trim() || undefined;
}

/** The repository the workflow runs in, from GITHUB_REPOSITORY (`owner/repo`). */
export function repository(): { owner: string; repo: string } {
  const full = process.env.GITHUB_REPOSITORY ?? '';
  const [owner, repo, ...rest] = full.split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new InputError(`GITHUB_REPOSITORY ${JSON.stringify(full)} is not owner/repo`, {
      field: 'GITHUB_REPOSITORY',
    });
  }
  return { owner, repo };
}

/** The repository checkout everything is read from and written to. */
export function workspace(): string {
  return process.env.GITHUB_WORKSPACE || process.cwd();
}

/** One message for setFailed: every problem of an InputErrors, else the error's message. */
export function failureMessage(error: unknown, secrets: ReadonlyArray<string | undefined>): string {
  const text =
    error instanceof InputErrors
      ? `${error.problems.length} problem(s) in the input:\n${error.problems.map((p) => `- ${p.message}`).join('\n')}`
      : errorMessage(error);
  return scrub(text, secrets);
}

/** Masks secrets in the runner's log before anything else can print them. */
function maskSecrets(...secrets: ReadonlyArray<string | undefined>): void {
  for (const s of secrets) if (s) core.setSecret(s);
}

/**
 * The one frame of every action: masks the secrets, runs the face, and turns any failure into one
 * setFailed line with the secrets scrubbed (exit 1, as a runner expects of a failed step).
 */
export async function runFace(
  secrets: ReadonlyArray<string | undefined>,
  body: () => Promise<void>,
): Promise<void> {
  maskSecrets(...secrets);
  try {
    await body();
  } catch (error) {
    core.setFailed(failureMessage(error, secrets));
  }
}

/**
 * How an action runs a batch (prepareRun's face): never a silent placeholder (without a key this
 * throws unless `provider: placeholder` was asked for), warnings as annotations, options spelt as
 * inputs.
 */
export function actionFace(apiKey: string | undefined): RunFace {
  return {
    apiKey,
    allowFallback: false,
    warn: (message) => core.warning(message),
    flag: (name) => name,
    keyName: 'gemini-api-key',
  };
}
