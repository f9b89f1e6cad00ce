import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { fieldPath, readJsonFile } from '../util/read-json.ts';
import { type Config, type ConfigInput, configSchema } from './schema.ts';

const CONFIG_FILE = 'lineup.config.json';

/** Deep enough for our two-level config: section objects merge, scalars replace. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prev && typeof prev === 'object'
        ? merge(prev as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/** The terminal face's flag for each config path it can override, so an error names what the user typed. */
const OVERRIDE_FLAGS: Readonly<Record<string, string>> = {
  apiBaseUrl: '--api-base-url',
  'cost.maxCost': '--max-cost',
  model: '--model',
  provider: '--provider',
};

function valueAt(value: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let at = value;
  for (const key of path)
    at = at && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  return at;
}

/**
 * Defaults, then `lineup.config.json` at the root (or `path`), then `overrides` (command-line
 * flags or action inputs). A malformed file is an InputError naming the file and field; a bad
 * override names its flag from `flags` (config path -> flag; the terminal's flags by default).
 */
export async function loadConfig(
  root: string,
  path?: string,
  overrides: ConfigInput = {},
  flags: Readonly<Record<string, string>> = OVERRIDE_FLAGS,
): Promise<Config> {
  const file = path ?? join(root, CONFIG_FILE);
  let fromFile: Record<string, unknown> = {};
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (exists || path) fromFile = (await readJsonFile(file, configSchema)) as Record<string, unknown>;
  const result = configSchema.safeParse(merge(fromFile, overrides as Record<string, unknown>));
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = fieldPath(issue?.path ?? []);
    const flag = flags[field];
    // The file alone was valid, so an issue at an overridden path is the override's.
    if (flag && valueAt(overrides, issue?.path ?? []) !== undefined)
      throw new InputError(issue?.message ?? 'is not valid', { field: flag });
    throw new InputError(issue?.message ?? 'is not valid', { file: 'options', field });
  }
  return result.data;
}
