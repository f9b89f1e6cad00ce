import * as core from '@actions/core';
import { InputError, InputErrors } from '../errors.ts';
import { errorMessage } from '../util/error-message.ts';
import { scrub } from '../util/scrub.ts';

/** An input's trimmed value, or undefined when empty (a runner passes unset inputs as ''). */
export function optionalInput(name: string): string | undefined {
  const value = core.getInput(name).trim();
  return value === '' ? undefined : value;
}

/**
 * A boolean input. Unlike core.getBooleanInput, an empty value means the default instead of an
 * error, so the action behaves the same when started without its action.yml defaults (tests, act).
 */
export function booleanInput(name: string, fallback: boolean): boolean {
  const value = optionalInput(name);
  if (value === undefined) return fallback;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new InputError(`${JSON.stringify(value)} is not a boolean; use true or false`, { field: name });
}

export function numberInput(name: string): number | undefined {
  const value = optionalInput(name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new InputError(`${JSON.stringify(value)} is not a non-negative number`, { field: name });
  }
  return n;
}

export function oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
  const value = optionalInput(name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new InputError(`${JSON.stringify(value)} is not one of ${allowed.join(', ')}`, { field: name });
  }
  return value as T;
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
export function maskSecrets(...secrets: ReadonlyArray<string | undefined>): void {
  for (const s of secrets) if (s) core.setSecret(s);
}
