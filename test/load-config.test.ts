import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.ts';
import { InputError } from '../src/errors.ts';
import { makeTempRoot } from './support/temp-root.ts';

describe('loadConfig overrides', () => {
  it('a bad override names its flag, not the config path', async () => {
    const root = await makeTempRoot();
    const error = await loadConfig(root, undefined, { apiBaseUrl: 'not a url' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('--api-base-url');
    expect((error as Error).message).toMatch(/^--api-base-url: /);
    await expect(loadConfig(root, undefined, { cost: { maxCost: -1 } })).rejects.toThrow(/^--max-cost: /);
  });

  it('a face passes its own names', async () => {
    const root = await makeTempRoot();
    await expect(
      loadConfig(root, undefined, { cost: { maxCost: -1 } }, { 'cost.maxCost': 'max-cost' }),
    ).rejects.toThrow(/^max-cost: /);
  });

  it('a bad config file still names the file and field', async () => {
    const root = await makeTempRoot();
    await writeFile(join(root, 'lineup.config.json'), JSON.stringify({ apiBaseUrl: 'nope' }));
    await expect(loadConfig(root, undefined, { model: 'm' })).rejects.toThrow(
      /lineup\.config\.json.*apiBaseUrl/,
    );
  });
});
