import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readProgress } from '../src/batch/progress.ts';
import { batchGenerate } from '../src/cli/batch-generate.ts';
import { regenerateMissing } from '../src/cli/scan-command.ts';
import { InputError } from '../src/errors.ts';
import { prepareRun } from '../src/run/prepare-run.ts';
import { chooseSource } from '../src/run/source.ts';
import { TEST_KEY } from './support/engine.ts';
import { NO_DELAY_CONFIG, useBatchWorld } from './support/fake-world.ts';
import { captureOutput } from './support/output.ts';

const CASE = 'case-2025-01-19';

const world = useBatchWorld(NO_DELAY_CONFIG);

const env = () => ({ GEMINI_API_KEY: TEST_KEY });
const generateCalls = () => world.fake.requests.filter((r) => r.path.endsWith(':generateContent')).length;

/** Submits a batch-mode batch (a Batch API job that stays pending) and returns its id. */
async function submit(type: 'scene' | 'all'): Promise<string> {
  const out = captureOutput();
  const code = await batchGenerate(
    world.root,
    { caseId: CASE, type, mode: 'batch', apiBaseUrl: world.fake.url, json: true },
    out,
    env(),
  );
  expect(code).toBe(0);
  const summary = JSON.parse(out.lines.join('\n'));
  expect(summary.status).toBe('submitted');
  return summary.batchId;
}

/** regenerate-missing-images --fix for CASE against the fake, writing to `out`. */
function fixMissing(out: ReturnType<typeof captureOutput>): Promise<number> {
  return regenerateMissing(world.root, { caseId: CASE, fix: true, apiBaseUrl: world.fake.url }, out, env());
}

describe('regenerate-missing-images --fix and images in flight', () => {
  test('leaves the images waiting in a Batch API job to that job', async () => {
    const waiting = await submit('scene');
    expect(world.batch.jobs).toHaveLength(1);

    const out = captureOutput();
    const code = await fixMissing(out);
    expect(code).toBe(0);
    expect(generateCalls()).toBe(3);
    expect(out.errors).toContain(
      `1 image(s) are waiting in Batch API jobs (${waiting}) and are left to them`,
    );
    expect(out.lines.join('\n')).toMatch(
      /1 image\(s\) still to generate after the fix \(1 waiting in Batch API jobs\)/,
    );
    const batches = (await readdir(join(world.root, 'reports', 'progress'))).filter(
      (n) => n !== `${waiting}.json`,
    );
    expect(batches).toHaveLength(1);
    const progress = await readProgress(world.root, (batches[0] ?? '').replace(/\.json$/, ''));
    expect(progress.completed.map((c) => c.suspectId ?? c.type)).toEqual([
      'suspect-1',
      'suspect-2',
      'suspect-3',
    ]);
  });

  test('generates nothing when every image is waiting', async () => {
    await submit('all');
    const out = captureOutput();
    const code = await fixMissing(out);
    expect(code).toBe(0);
    expect(generateCalls()).toBe(0);
    expect(out.lines.join('\n')).toMatch(/Nothing to generate now: the images are waiting in Batch API jobs/);
    expect(await readdir(join(world.root, 'reports', 'progress'))).toHaveLength(1);
  });
});

describe('prepareRun', () => {
  test('names options the way each face spells them', async () => {
    const terminal = { apiKey: undefined, allowFallback: true, warn: () => {} };
    const action = { ...terminal, allowFallback: false, flag: (n: string) => n, keyName: 'gemini-api-key' };
    await expect(prepareRun(world.root, { provider: 'dall-e' }, terminal)).rejects.toMatchObject({
      field: '--provider',
    });
    await expect(prepareRun(world.root, { mode: 'later' }, action)).rejects.toMatchObject({ field: 'mode' });
    await expect(prepareRun(world.root, { mode: 'batch' }, terminal)).rejects.toThrow(
      '--mode batch needs the gemini provider and GEMINI_API_KEY',
    );
    await expect(prepareRun(world.root, { mode: 'batch', provider: 'placeholder' }, action)).rejects.toThrow(
      'mode: batch needs the gemini provider and gemini-api-key',
    );
    const setup = await prepareRun(world.root, { provider: 'placeholder' }, action);
    await expect((await setup.choose({ resume: 'batch-2025-01-19-001' })).estimate()).rejects.toThrow(
      'estimate-only needs a new plan, not resume',
    );
  });

  test('without a key the terminal warns and falls back; the action refuses', async () => {
    const warnings: string[] = [];
    const setup = await prepareRun(
      world.root,
      {},
      { apiKey: undefined, allowFallback: true, warn: (m) => warnings.push(m) },
    );
    expect(setup.provider.name).toBe('placeholder');
    expect(warnings.join()).toMatch(/GEMINI_API_KEY is not set/);
    await expect(
      prepareRun(world.root, {}, { apiKey: undefined, allowFallback: false, warn: () => {} }),
    ).rejects.toThrow(InputError);
  });

  test('scan-all without fix only estimates; batch mode is priced at the Batch API rate', async () => {
    const setup = await prepareRun(
      world.root,
      { mode: 'batch', apiBaseUrl: world.fake.url },
      { apiKey: TEST_KEY, allowFallback: false, warn: () => {} },
    );
    expect(setup.costPerImage).toBe(0.0168);
    const run = await setup.choose({ scanAll: true });
    expect(run.estimateOnly).toBe(true);
    expect(run.force).toBe(true);
    const plan = await run.estimate();
    expect(plan.items.length).toBeGreaterThan(0);
    expect(plan.estimatedCostUsd).toBeCloseTo(plan.items.length * 0.0168);
  });
});

describe('chooseSource', () => {
  test.each([
    [{ batchFile: 'b.json', fix: true }, '--fix goes with --case-id or --scan-all, not --batch-file'],
    [{ resume: 'batch-2025-01-19-001', fix: true }, '--fix goes with --case-id or --scan-all, not --resume'],
  ])('%j is bad input', async (choice, message) => {
    await expect(chooseSource(world.root, choice)).rejects.toThrow(message);
    await expect(chooseSource(world.root, choice)).rejects.toMatchObject({ field: '--fix' });
    await expect(chooseSource(world.root, choice, (n) => n)).rejects.toMatchObject({ field: 'fix' });
  });

  test('fix with the scan already done takes its findings, planned with force', async () => {
    const found = [{ type: 'scene' as const, caseId: CASE }];
    expect(await chooseSource(world.root, { caseId: CASE, fix: true, found })).toEqual({
      source: { kind: 'images', images: found },
      force: true,
    });
  });
});
