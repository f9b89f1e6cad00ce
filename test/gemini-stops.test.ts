import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readProgress } from '../src/batch/progress.ts';
import { DEFAULT_IMAGE_MODEL } from '../src/config/pricing.ts';
import { runScript } from './support/cli.ts';
import { caseAll, readJson, runAgainstFake, TEST_KEY } from './support/engine.ts';
import type { FakeGemini } from './support/fake-gemini.ts';
import { type FakeGeminiBatch, startFakeGeminiWithBatch } from './support/fake-gemini-batch.ts';
import { makeTempRoot } from './support/temp-root.ts';

/*
 * The stops of issue 9, end to end: the real @google/genai client against the fake, through the
 * engine (virtual clock) and through the command line (exit codes, files left behind).
 */

const CURRENT = [DEFAULT_IMAGE_MODEL, 'gemini-3-pro-image', 'gemini-3.1-flash-lite-image'];

let fake: FakeGemini;
let batch: FakeGeminiBatch;
let root: string;

beforeEach(async () => {
  ({ fake, batch } = await startFakeGeminiWithBatch({ models: CURRENT }));
  root = await makeTempRoot();
});
afterEach(() => fake.close());

const generateCalls = () => fake.requests.filter((r) => r.path.endsWith(':generateContent'));

async function config(over: Record<string, unknown> = {}) {
  await writeFile(
    join(root, 'lineup.config.json'),
    JSON.stringify({ timing: { delayBetweenImages: 0 }, ...over }),
  );
}

function cli(args: string[]) {
  return runScript('batch-generate-images.ts', args, root, {
    GEMINI_API_KEY: TEST_KEY,
    GOOGLE_GEMINI_BASE_URL: fake.url,
  });
}

async function entries(dir: string): Promise<string[]> {
  return readdir(join(root, dir)).catch(() => []);
}

describe('on the engine', () => {
  test('a Help-only 429 waits the delay its message names, not delayAfterRateLimit', async () => {
    fake.enqueue({ kind: 'rate-limit', shape: 'help-only', retryDelaySec: 20.04 });
    const { summary, clock } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary.exitCode).toBe(0);
    const waited = clock.now() - Date.UTC(2025, 0, 19, 10);
    expect(waited).toBeGreaterThanOrEqual(20_040);
    expect(waited).toBeLessThan(60_000);
  });

  test('a model retired under the run stops it at once with exit 1, one 404, the rest pending', async () => {
    fake.setHandler(() => {
      // The first image is made; from then on the model is gone.
      fake.retire(DEFAULT_IMAGE_MODEL);
      return undefined;
    });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary).toMatchObject({ exitCode: 1, status: 'stopped', successful: 1 });
    expect(generateCalls()).toHaveLength(2);
    expect(generateCalls()[1]?.reply).toBe('model-not-found');
    const progress = await readProgress(root, summary.batchId);
    expect(progress.pending).toHaveLength(2);
    expect(progress.failed).toMatchObject([{ errorType: 'model_not_found', recoverable: false }]);
    const report = (await readJson(summary.errorReportFile)) as { recommendations: string[] };
    expect(report.recommendations.join('\n')).toMatch(/not available \(404 NOT_FOUND/);
  });

  test('no quota for the model (limit: 0) stops at once with exit 1 and says what to do', async () => {
    fake.setDefault({ kind: 'rate-limit', shape: 'no-quota' });
    const { summary } = await runAgainstFake(root, fake, { source: caseAll() });
    expect(summary).toMatchObject({ exitCode: 1, status: 'stopped', successful: 0 });
    expect(generateCalls()).toHaveLength(1);
    const report = (await readJson(summary.errorReportFile)) as { recommendations: string[] };
    expect(report.recommendations.join('\n')).toMatch(/no quota for this model \(limit: 0\).*enable billing/);
  });
});

describe('from the command line', () => {
  test('a retired model in the config is exit 2 before anything is spent or written (sync)', async () => {
    await config({ model: 'gemini-3.1-flash-image' });
    const run = await cli(['--case-id', 'case-2025-01-19']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/model: "gemini-3\.1-flash-image" is not a model the Gemini API knows/);
    expect(run.stderr).toContain('"model" in lineup.config.json or pass --model');
    expect(run.stderr).toContain('gemini-3-pro-image, gemini-3.1-flash-lite-image, gemini-nano-banana-2.1');
    expect(run.stderr).not.toContain(TEST_KEY);
    expect(generateCalls()).toHaveLength(0);
    expect(fake.modelCalls).toEqual([{ method: 'get', model: 'gemini-3.1-flash-image' }, { method: 'list' }]);
    expect(await entries('reports')).toEqual([]);
    expect(await entries('cases/case-2025-01-19/images')).toEqual([]);
  });

  test('--model with a retired model is exit 2 in batch mode too, no job created', async () => {
    await config();
    const run = await cli([
      '--case-id',
      'case-2025-01-19',
      '--mode',
      'batch',
      '--model',
      'gemini-2.5-flash-image',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/"gemini-2\.5-flash-image" is not a model/);
    expect(batch.jobs).toHaveLength(0);
    expect(await entries('reports')).toEqual([]);
  });

  test('a model retired mid-run is exit 1, the rest left pending for --resume', async () => {
    await config();
    fake.setHandler(() => {
      fake.retire(DEFAULT_IMAGE_MODEL);
      return undefined;
    });
    const run = await cli(['--case-id', 'case-2025-01-19']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/STOPPED: the model is not available/);
    expect(generateCalls()).toHaveLength(2);
  });

  test('limit: 0 is exit 1 after one request', async () => {
    await config();
    fake.setDefault({ kind: 'rate-limit', shape: 'no-quota' });
    const run = await cli(['--case-id', 'case-2025-01-19']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /no quota for the model \(GenerateRequestsPerMinutePerProjectPerModel-FreeTier\)/,
    );
    expect(generateCalls()).toHaveLength(1);
  });

  test('a batch job that cannot be created for a reason no retry fixes is exit 1, not 3', async () => {
    await config();
    batch.failNextCreate(
      404,
      `models/${DEFAULT_IMAGE_MODEL} is not found for API version v1beta, or is not supported for batchGenerateContent. Call ListModels to see the list of available models and their supported methods.`,
    );
    const run = await cli(['--case-id', 'case-2025-01-19', '--mode', 'batch']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/creating lineup-batch-\S+ failed: model_not_found/);
    expect(batch.calls.filter((c) => c.startsWith('create'))).toHaveLength(1);
  });
});
